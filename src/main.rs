//! The `sse-server` binary: raise the open-files limit, read the command line, start
//! logging, say what it is about to do, bind, install the Ctrl-C handler, and serve
//! until it fires.

#![forbid(unsafe_code)]

use std::env;
use std::process;

use log::info;

use sse_server::Server;
use sse_server::cli::{self, Command};
use sse_server::limits;
use sse_server::mint::{self, TokenCommand};
use sse_server::open_files;
use sse_server::startup;

fn main() {
    // Before anything reads the limits: the default --max-clients (and --help's
    // account of it) comes from them.
    let raise = open_files::raise_to_hard_limit();
    let config = match cli::parse_command_line(env::args().skip(1), |name| env::var(name).ok()) {
        Ok(Command::Run(config)) => *config,
        Ok(Command::Help) => {
            print!("{}", cli::usage());
            return;
        }
        Ok(Command::Token(TokenCommand::Help)) => {
            print!("{}", mint::HELP);
            return;
        }
        Ok(Command::Token(TokenCommand::Mint(request))) => {
            println!("{}", request.mint());
            return;
        }
        Ok(Command::Version) => {
            println!("sse-server {}", env!("CARGO_PKG_VERSION"));
            return;
        }
        Err(error) => {
            eprintln!("sse-server: {error}");
            process::exit(2);
        }
    };

    // Default to `info`; RUST_LOG=debug (or warn, ...) overrides.
    env_logger::Builder::from_env(env_logger::Env::default().default_filter_or("info")).init();
    // A panic in a client thread ends only that thread (see client.rs); report it as
    // one log line, with the thread's name (which holds the client's address).
    std::panic::set_hook(Box::new(|panic| {
        let thread = std::thread::current();
        log::error!(
            "thread {:?} panicked: {panic}",
            thread.name().unwrap_or("unnamed")
        );
    }));

    // A cap above what the OS allows still starts (the operator may know better); say
    // once which limit binds and how to raise it.
    let budgets = limits::budgets(&limits::Sources::read());
    let max_clients = config.max_clients;
    if let Some(warning) = limits::warning_for(max_clients, config.max_clients_from_flag, &budgets)
    {
        log::warn!("{warning}");
    }
    let summary = startup::summary(&config, &budgets, &raise);

    let address = format!("{}:{}", config.bind, config.port);
    let server = match Server::bind(config) {
        Ok(server) => server,
        Err(error) => {
            eprintln!("sse-server: cannot listen on {address}: {error}");
            process::exit(1);
        }
    };
    let handle = server.handle();
    // The first signal starts the drain window (server.rs); a second ends it at once.
    if let Err(error) = ctrlc::set_handler(move || handle.stop()) {
        eprintln!("sse-server: cannot install the Ctrl-C handler: {error}");
        process::exit(1);
    }

    info!("Server running at http://{}/", server.local_addr());
    if let Some(admin) = server.admin_addr() {
        info!("Admin routes at http://{admin}/");
    }
    for line in summary {
        info!("  {line}");
    }
    let summary = server.run();
    info!(
        "stopped after waiting {:.0} ms for streams to end ({} still open)",
        summary.waited.as_secs_f64() * 1000.0,
        summary.streams_still_open
    );
}
