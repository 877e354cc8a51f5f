//! The `guanxi` command: see `guanxi --help`.

#[tokio::main]
async fn main() -> std::process::ExitCode {
    guanxi_gateway::cli::run().await
}
