//! Integration tests: the real app on a random port, a real Redis (unique key prefix per
//! test), Instagram faked at the HTTP level with its documented bodies.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod abuse;
mod accounts_api;
mod accounts_isolation;
mod accounts_profile;
mod accounts_upgrade;
mod admin;
mod assets_pipeline;
mod assets_serving;
mod assets_storage;
mod config;
mod curation;
mod deauthorize;
mod docs;
mod faults;
mod feed;
mod feed_sync;
mod hardening;
mod hashtag_budget;
mod health;
mod helpers;
mod http;
mod leaks;
mod metrics;
mod oauth;
mod openapi;
mod processes;
mod refresh;
mod replicas;
mod sandbox;
mod storage;
mod webhooks_api;
mod webhooks_delivery;
mod webhooks_events;
mod webhooks_feed_events;
