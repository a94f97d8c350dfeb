use std::process::ExitCode;

use instagram_gateway::config::{Loaded, Settings};
use instagram_gateway::startup::Application;
use instagram_gateway::telemetry;

#[tokio::main]
async fn main() -> ExitCode {
    let Loaded {
        settings,
        unknown_keys,
    } = match Settings::load() {
        Ok(loaded) => loaded,
        Err(e) => {
            eprintln!("error: {e}");
            return ExitCode::from(2);
        }
    };
    if let Err(e) = telemetry::init(settings.log.format) {
        eprintln!("error: cannot install the logger: {e}");
        return ExitCode::FAILURE;
    }
    // Fatal in production (see `Settings::load`); here a warning the operator cannot miss.
    for unknown in &unknown_keys {
        tracing::warn!(key = %unknown.key, closest = %unknown.closest, "configuration: {unknown}");
    }
    let app = match Application::build(settings).await {
        Ok(app) => app,
        Err(e) => {
            tracing::error!(error = %e, "start-up failed");
            eprintln!("error: {e}");
            return ExitCode::FAILURE;
        }
    };
    match app.run_until_signalled().await {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            tracing::error!(error = %e, "server stopped with an error");
            ExitCode::FAILURE
        }
    }
}
