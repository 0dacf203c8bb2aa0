//! `wait-online`: block until the network is configured.

fn main() -> std::process::ExitCode {
    wait_online::app::main(std::env::args_os().collect())
}
