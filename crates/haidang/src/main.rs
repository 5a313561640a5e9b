//! Entry point: parse the command line, load the configuration, set up logging, run.

use std::process::ExitCode;

use clap::Parser;
use haidang::cli::{Cli, Command};
use haidang::{commands, load_config};
use tracing_subscriber::EnvFilter;

/// mimalloc rather than glibc's malloc: see the note in Cargo.toml.
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

fn init_logging(format: &str, level: &str) {
    let filter = EnvFilter::try_from_default_env().unwrap_or_else(|_| EnvFilter::new(level));
    let builder = tracing_subscriber::fmt().with_env_filter(filter).with_writer(std::io::stderr);
    if format == "json" {
        builder.json().init();
    } else {
        builder.init();
    }
}

fn main() -> ExitCode {
    // rustls with ring, once, before anything (server, database, bench client) opens TLS.
    haidang_server::install_crypto_provider();
    let cli = Cli::parse();
    if matches!(cli.command, Command::PrintDefaultConfig) {
        print!("{}", haidang::setup::default_config_text());
        return ExitCode::SUCCESS;
    }
    let config = match load_config(cli.config.as_deref(), cli.data_dir.as_deref()) {
        Ok(c) => c,
        Err(e) => {
            eprintln!("error: {e}");
            return ExitCode::from(2);
        }
    };
    init_logging(&config.log.format, &config.log.level);
    haidang_server::install_crypto_provider();
    let runtime = match tokio::runtime::Builder::new_multi_thread().enable_all().build() {
        Ok(rt) => rt,
        Err(e) => {
            eprintln!("error: cannot start the runtime: {e}");
            return ExitCode::FAILURE;
        }
    };
    let result = runtime.block_on(async move {
        match cli.command {
            Command::Serve { demo, listen } => {
                let mut config = config;
                if let Some(l) = listen {
                    config.server.listen = l;
                    config.validate()?;
                }
                haidang::serve::run(config, demo).await
            }
            Command::Migrate => commands::migrate(config).await,
            Command::Backup { out } => commands::backup(config, &out).await,
            Command::Restore { file } => commands::restore(config, &file).await,
            Command::User(cmd) => commands::user(config, cmd).await,
            Command::Token(cmd) => commands::token(config, cmd).await,
            Command::Org(cmd) => commands::org(config, cmd).await,
            Command::Units(cmd) => commands::units(config, cmd).await,
            Command::Audit(cmd) => commands::audit(config, cmd).await,
            Command::Bench(args) => haidang::bench::run(args).await,
            Command::BenchIngest(args) => haidang::bench_ingest::run(args).await,
            Command::BenchMqtt(args) => haidang::bench_mqtt::run(args).await,
            Command::BenchIndicators(args) => haidang::bench_indicators::run(args).await,
            Command::BenchReports(args) => haidang::bench_reports::run(args).await,
            Command::BenchAlerts(args) => haidang::bench_alerts::run(args).await,
            Command::PrintDefaultConfig => Ok(()),
        }
    });
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("error: {e:#}");
            ExitCode::FAILURE
        }
    }
}
