use clap::Parser;

/// mimalloc: the load generator's hot path allocates a few small buffers
/// a request (the request, its answer), and glibc's malloc and free were
/// 4-5% of its profile; mimalloc's thread-local free lists cost a fraction.
#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;

fn main() {
    let cli = tokenprobe::cli::Cli::parse();
    std::process::exit(tokenprobe::cli::main_with(cli));
}
