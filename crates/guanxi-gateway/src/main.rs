//! The `guanxi` command: see `guanxi --help`.

/// mimalloc instead of glibc's allocator: a profile of the server under load put about a
/// quarter of its time in `malloc`/`free` (issue 20; bench/README has the measurement).
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

#[tokio::main]
async fn main() -> std::process::ExitCode {
    guanxi_gateway::cli::run().await
}
