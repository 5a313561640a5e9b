//! `haidang serve`: open the store, load the demo if asked, build the unit index, listen, and
//! stop gracefully on Ctrl-C or SIGTERM.

use std::sync::Arc;

use anyhow::Context;
use haidang_server::config::Config;
use haidang_server::state::AppState;

use crate::demo;
use crate::setup::build_state;

/// Builds the state, seeding the demo when asked; returns the new demo accounts' passwords.
pub async fn prepare(
    config: Config,
    with_demo: bool,
) -> anyhow::Result<(Arc<AppState>, Vec<(String, String)>)> {
    let state = build_state(config).await?;
    let passwords = if with_demo { demo::seed(&state).await? } else { Vec::new() };
    let n = haidang_server::rebuild_unit_index(&state).await?;
    tracing::info!(units = n, "unit index built");
    Ok((state, passwords))
}

pub fn print_demo_passwords(passwords: &[(String, String)]) {
    if passwords.is_empty() {
        return;
    }
    println!(
        "Demo accounts (passwords are shown this once; the demo's accounts need no password change or TOTP):"
    );
    for (username, password) in passwords {
        println!("  {username:<12} {password}");
    }
}

pub async fn run(mut config: Config, with_demo: bool) -> anyhow::Result<()> {
    let listen = config.server.listen.clone();
    let simulate = with_demo && config.demo.simulator;
    let demo_broker = Some(config.demo.mqtt_url.clone()).filter(|u| simulate && !u.is_empty());
    if let Some(url) = &demo_broker {
        // The demo's readings come in through a connector, as a real station's would.
        config.mqtt.connectors.push(crate::simulator::connector_config(url));
    }
    let (state, passwords) = prepare(config, with_demo).await?;
    let listener =
        std::net::TcpListener::bind(&listen).with_context(|| format!("cannot listen on {listen}"))?;
    let scheme = if state.config.tls_enabled() { "https" } else { "http" };
    let shutdown = shutdown_signal();
    print_demo_passwords(&passwords);
    println!("Hải Đăng is listening on {scheme}://{}", listener.local_addr()?);
    let store = state.store.clone();
    let (stop_simulator, stopped) = tokio::sync::watch::channel(false);
    if simulate {
        let every = std::time::Duration::from_secs(state.config.demo.interval_secs);
        tokio::spawn(crate::simulator::run(state.clone(), every, demo_broker, stopped));
    }
    haidang_server::launch(state, listener, shutdown).await?;
    let _ = stop_simulator.send(true);
    store.close().await;
    tracing::info!("stopped");
    Ok(())
}

/// SIGTERM or Ctrl-C. The handlers are installed here, before the server says it is listening,
/// so a signal that arrives at once still stops it gracefully instead of killing it.
pub fn shutdown_signal() -> impl std::future::Future<Output = ()> + Send + 'static {
    #[cfg(unix)]
    let signals = {
        use tokio::signal::unix::{signal, SignalKind};
        (signal(SignalKind::terminate()), signal(SignalKind::interrupt()))
    };
    async move {
        #[cfg(unix)]
        match signals {
            (Ok(mut term), Ok(mut int)) => {
                tokio::select! {
                    _ = term.recv() => {},
                    _ = int.recv() => {},
                }
            }
            _ => {
                tracing::warn!("cannot listen for signals; stop the server with Ctrl-C");
                let _ = tokio::signal::ctrl_c().await;
            }
        }
        #[cfg(not(unix))]
        let _ = tokio::signal::ctrl_c().await;
    }
}
