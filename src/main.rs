use clap::Parser;

fn main() {
    let cli = tokenprobe::cli::Cli::parse();
    std::process::exit(tokenprobe::cli::main_with(cli));
}
