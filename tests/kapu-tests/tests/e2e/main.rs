//! End-to-end tests: each boots the real server (see `kapu-testkit`) against its own
//! PostgreSQL database and talks to it over real HTTP and SMTP.

#![allow(clippy::unwrap_used, clippy::expect_used)]

mod audit_crypto;
mod auth;
mod browser;
mod calendar;
mod case_types;
mod cases;
mod cli;
mod delivery;
mod demo;
mod documents;
mod fuzz;
mod identification;
mod isolation;
mod issuing;
mod jobs;
mod kau;
mod local_systems;
mod oidc;
mod organisations;
mod origins;
mod plugins;
mod portal_accounts;
mod problems;
mod provisioning;
mod queue;
mod sealing;
mod throttling;
mod tls;
mod uploads;
