//! End-to-end tests: the real server on 127.0.0.1:0, spoken to over HTTP, with the catalog on a real SQLite file —
//! or, when `TAPWATER_TEST_POSTGRES_URL` is set, on a fresh PostgreSQL database per test (CI runs both).
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::type_complexity)]

mod access;
mod cli;
mod errors;
mod pipeline;
mod publish;
mod quality;
mod query;
mod reads;
mod real_files;
mod sources;
mod support;
