//! The `guanxi` command: see `guanxi --help`.
// A release build lays out the schema's merged roots here too (see lib.rs).
#![recursion_limit = "256"]

/// mimalloc instead of glibc's allocator: a profile of the server under load put about a
/// quarter of its time in `malloc`/`free` (issue 20; bench/README has the measurement).
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

/// Each worker thread's stack. A request's future is polled through the HTTP layers
/// (compression among them), the GraphQL executor's nested resolvers and the database
/// driver; tokio's 2 MiB default leaves little room for a deeply nested query in a debug
/// build. The memory is reserved, not committed, until a thread uses it.
const WORKER_STACK_BYTES: usize = 8 * 1024 * 1024;

fn main() -> std::process::ExitCode {
    let runtime =
        tokio::runtime::Builder::new_multi_thread().enable_all().thread_stack_size(WORKER_STACK_BYTES).build();
    match runtime {
        Ok(runtime) => runtime.block_on(guanxi_gateway::cli::run()),
        Err(error) => {
            eprintln!("error: cannot start the runtime: {error}");
            std::process::ExitCode::FAILURE
        }
    }
}
