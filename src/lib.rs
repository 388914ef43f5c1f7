pub mod config;
pub mod domain;
pub mod error;
pub mod http;
pub mod persistence;
pub mod service;
pub mod startup;
pub mod telemetry;
