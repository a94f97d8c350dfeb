//! The future a middleware returns: the inner service's future, then a plain function applied
//! to its output. What `Box::pin(async move { f(inner.await) })` does, without an allocation
//! per request on the hot path.

use std::future::Future;
use std::pin::Pin;
use std::task::{Context, Poll, ready};

pin_project_lite::pin_project! {
    pub struct Finishing<F: Future, T, O> {
        #[pin]
        inner: F,
        finish: Option<(T, fn(T, F::Output) -> O)>,
    }
}

impl<F: Future, T, O> Finishing<F, T, O> {
    /// Polls `inner`, then returns `finish(state, output)`.
    pub fn new(inner: F, state: T, finish: fn(T, F::Output) -> O) -> Self {
        Self {
            inner,
            finish: Some((state, finish)),
        }
    }
}

impl<F: Future, T, O> Future for Finishing<F, T, O> {
    type Output = O;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<O> {
        let this = self.project();
        let output = ready!(this.inner.poll(cx));
        match this.finish.take() {
            Some((state, finish)) => Poll::Ready(finish(state, output)),
            None => panic!("`Finishing` polled after it completed"),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[actix_web::test]
    async fn applies_the_function_to_the_output_and_the_state() {
        let future = Finishing::new(async { 20 }, 22, |state, output| state + output);
        assert_eq!(future.await, 42);
    }
}
