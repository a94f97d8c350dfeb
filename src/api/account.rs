//! Extractors that resolve the account of a request once.

use std::future::{Ready, ready};
use std::sync::Arc;

use actix_web::dev::Payload;
use actix_web::{FromRequest, HttpRequest, web};

use crate::accounts::{Account, Accounts};
use crate::error::ApiError;

/// The account `accounts.default` names.
pub struct DefaultAccount(pub Arc<Account>);

fn registry(req: &HttpRequest) -> Result<&Accounts, ApiError> {
    req.app_data::<web::Data<Accounts>>()
        .map(|data| data.get_ref())
        .ok_or_else(|| ApiError::NotReady("the account registry is not configured".to_owned()))
}

impl FromRequest for DefaultAccount {
    type Error = ApiError;
    type Future = Ready<Result<Self, ApiError>>;

    fn from_request(req: &HttpRequest, _: &mut Payload) -> Self::Future {
        ready(registry(req).and_then(|accounts| Ok(Self(accounts.default_account()?))))
    }
}
