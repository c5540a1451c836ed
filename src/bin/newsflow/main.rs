//! The `newsflow` binary: parses the command line and hands over to the library.
//! Exit codes: 0 done (including a clean shutdown on SIGTERM/SIGINT), 1 failed while
//! running, 2 bad command line or configuration. Configuration is checked in full
//! (settings, topics, librdkafka properties) before anything starts.

mod app;
mod cli;
mod demo;
mod memory;

use std::process::ExitCode;

use clap::Parser;
use cli::{Cli, Command};
use newsflow::batch::FileError;
use newsflow::config::ConfigError;
use newsflow::kafka::RunError;

/// Bad command line or configuration.
const CONFIGURATION_ERROR: u8 = 2;

fn main() -> ExitCode {
    let cli = match Cli::try_parse() {
        Ok(cli) => cli,
        Err(error) if !error.use_stderr() => error.exit(), // --help, --version
        Err(error) => {
            eprint!("{}", cli::usage_error_message(&error));
            return ExitCode::from(CONFIGURATION_ERROR);
        }
    };
    // The demo prints its own summary, dead letters included; its logs would only get in
    // the way.
    let default_level = match cli.command {
        Command::Demo(_) => "error",
        _ => "info",
    };
    newsflow::telemetry::init_logging(cli.log_format, default_level);
    let result = match cli.command {
        Command::Run(args) => match args.into_config() {
            Ok(config) => app::run(config),
            Err(error) => return invalid_configuration(&error),
        },
        Command::Process(args) => match args.dead_letter_path().map(|dlq| app::process(args, &dlq))
        {
            Err(error) => return invalid_configuration(&error),
            Ok(Err(error)) if error.downcast_ref().is_some_and(FileError::is_usage) => {
                tracing::error!(error = format!("{error:#}"), "Invalid command line.");
                return ExitCode::from(2);
            }
            Ok(result) => result,
        },
        Command::Demo(args) => app::demo(args),
        Command::Ingest(args) => match args.into_config() {
            Ok(cli::Ingest::Once { config, output }) => app::ingest(&config, &output),
            Ok(cli::Ingest::Follow(config)) => app::follow_feeds(&config),
            Err(error) => return invalid_configuration(&error),
        },
        Command::Aggregate(args) => match args.into_config() {
            Ok(config) => app::aggregate(&config),
            Err(error) => return invalid_configuration(&error),
        },
        Command::ReplayDlq(args) => match args.into_parts() {
            Ok((config, options)) => app::replay_dlq(&config, &options),
            Err(error) => return invalid_configuration(&error),
        },
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(error) if error.downcast_ref().is_some_and(RunError::is_configuration) => {
            tracing::error!(error = format!("{error:#}"), "Invalid configuration.");
            ExitCode::from(CONFIGURATION_ERROR)
        }
        Err(error) => {
            tracing::error!(error = format!("{error:#}"), "newsflow failed.");
            ExitCode::FAILURE
        }
    }
}

fn invalid_configuration(error: &ConfigError) -> ExitCode {
    tracing::error!(%error, "Invalid configuration.");
    ExitCode::from(CONFIGURATION_ERROR)
}
