//! The service's logs, captured for the whole test binary.

use std::io::Write;
use std::sync::{Arc, Mutex, OnceLock};

use instagram_gateway::telemetry;

/// Everything the service logged, across the whole test binary (trace level).
pub fn captured_logs() -> String {
    String::from_utf8_lossy(&log_buffer().lock().unwrap()).into_owned()
}

fn log_buffer() -> &'static Arc<Mutex<Vec<u8>>> {
    static BUFFER: OnceLock<Arc<Mutex<Vec<u8>>>> = OnceLock::new();
    BUFFER.get_or_init(|| Arc::new(Mutex::new(Vec::new())))
}

#[derive(Clone)]
struct BufferWriter(Arc<Mutex<Vec<u8>>>);

impl Write for BufferWriter {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.0.lock().unwrap().extend_from_slice(buf);
        if std::env::var_os("TEST_LOG").is_some() {
            std::io::stdout().write_all(buf)?;
        }
        Ok(buf.len())
    }

    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

/// The production subscriber at `RUST_LOG=trace`, writing into the capture buffer.
pub(super) fn init_logging() {
    static INIT: OnceLock<()> = OnceLock::new();
    INIT.get_or_init(|| {
        let buffer = log_buffer().clone();
        let subscriber = telemetry::subscriber(
            instagram_gateway::config::LogFormat::Json,
            telemetry::env_filter(Some("trace")),
            move || BufferWriter(buffer.clone()),
        );
        tracing::subscriber::set_global_default(subscriber).expect("one global subscriber");
    });
}
