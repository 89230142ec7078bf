//! The `coldpotato` binary: CLI (clap), logging (tracing), and the runtime
//! for the daemon, the lab and the load generator.

use clap::{CommandFactory, Parser, Subcommand, ValueEnum};
use coldpotato::cli::{show, ShowOpts, ShowWhat};
use std::path::PathBuf;
use std::process::ExitCode;

/// BGP speaker and route-policy daemon for a peering-service edge.
#[derive(Debug, Parser)]
#[command(name = "coldpotato", version, about)]
struct Cli {
    /// Log format on stderr.
    #[arg(long, global = true, value_enum, default_value_t = LogFormat::Human)]
    log_format: LogFormat,
    /// Log level: error, warn, info, debug, trace, or a `RUST_LOG`
    /// directive such as `info,coldpotato::session=debug`. Without it,
    /// `RUST_LOG`, else `info` (the lab: `error`).
    #[arg(long, global = true, value_name = "LEVEL")]
    log_level: Option<String>,
    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
enum LogFormat {
    Human,
    Json,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Run the daemon in the foreground until SIGTERM/SIGINT (SIGHUP reloads).
    Run {
        #[arg(long, short)]
        config: PathBuf,
    },
    /// Validate a config (and its policy file) without starting.
    Check {
        #[arg(long, short)]
        config: PathBuf,
    },
    /// Ask the running daemon what it sees.
    Show {
        what: ShowWhat,
        #[command(flatten)]
        opts: ShowOpts,
    },
    /// Act on one neighbor of the running daemon: shutdown, enable, reset,
    /// refresh in|out, clear max-prefix (needs an API token).
    Neighbor(coldpotato::cli::control::NeighborArgs),
    /// Reload the running daemon's configuration (as SIGHUP) and print the
    /// result: what changed, or the errors at file:line:col (the running
    /// configuration stays).
    Reload {
        #[command(flatten)]
        opts: coldpotato::cli::control::ControlOpts,
    },
    /// Change the running daemon's log level: error, warn, info, debug,
    /// trace, or a `RUST_LOG` directive.
    LogLevel {
        /// The new level or directive, e.g. `debug` or `info,coldpotato::session=debug`.
        level: String,
        #[command(flatten)]
        opts: coldpotato::cli::control::ControlOpts,
    },
    /// The lab: the daemon with simulated providers on loopback, failing
    /// over and back, then a summary.
    Lab {
        /// Print every daemon log line too.
        #[arg(long)]
        verbose: bool,
    },
    /// Load generator: one simulated provider announcing a full table.
    Loadgen(coldpotato::lab::loadgen::LoadgenArgs),
    /// Receive-only internal neighbor: counts and checks what a speaker
    /// exports (the other end of `loadgen`).
    Sink(coldpotato::lab::sink::SinkArgs),
    /// Prints a shell completion script, e.g.
    /// `coldpotato completions bash > /etc/bash_completion.d/coldpotato`.
    Completions {
        #[arg(value_enum)]
        shell: clap_complete::Shell,
    },
    /// Prints the manual page (roff), e.g.
    /// `coldpotato man > /usr/local/share/man/man8/coldpotato.8`.
    Man,
}

fn init_logging((format, level): &(LogFormat, Option<String>), default: &str) {
    let format = match format {
        LogFormat::Human => coldpotato::logging::Format::Human,
        LogFormat::Json => coldpotato::logging::Format::Json,
    };
    coldpotato::logging::init(format, level.as_deref(), default);
}

fn runtime() -> std::io::Result<tokio::runtime::Runtime> {
    tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
}

/// Runs `job` on a new runtime; a failure is printed as `what: error`
/// (`eprintln!`, or through the logger when `logged`) and exits 1.
fn run_job<T, E: std::fmt::Display>(
    what: &str,
    logged: bool,
    job: impl std::future::Future<Output = Result<T, E>>,
    ok: impl FnOnce(T) -> ExitCode,
) -> ExitCode {
    let report = |msg: String| {
        if logged {
            tracing::error!("{msg}");
        } else {
            eprintln!("{msg}");
        }
        ExitCode::from(1)
    };
    match runtime() {
        Ok(rt) => match rt.block_on(job) {
            Ok(v) => ok(v),
            Err(e) => report(format!("{what}: {e}")),
        },
        Err(e) => report(format!("cannot start the runtime: {e}")),
    }
}

/// Writes a command's output to stdout. A reader that went away (`| head`,
/// `| less` quit early) is not an error: the command exits 0 quietly, as
/// `ls | head` does, instead of panicking like `print!` would.
fn emit(text: &str) -> ExitCode {
    use std::io::Write;
    let mut out = std::io::stdout().lock();
    match out.write_all(text.as_bytes()).and_then(|()| out.flush()) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) if e.kind() == std::io::ErrorKind::BrokenPipe => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("coldpotato: cannot write the output: {e}");
            ExitCode::from(1)
        }
    }
}

/// Runs one control command: its answer on stdout (exit 0), or the
/// reason on stderr (exit 1).
fn control(
    w: &coldpotato::cli::control::Write,
    opts: &coldpotato::cli::control::ControlOpts,
) -> ExitCode {
    match coldpotato::cli::control::run_write(w, opts) {
        Ok(text) => emit(&text),
        Err(e) => {
            eprintln!("{e}");
            ExitCode::from(1)
        }
    }
}

/// jemalloc instead of glibc's malloc: the session tasks allocate what the
/// engine task frees (decoded UPDATEs), and glibc serialises such frees on
/// the allocating thread's arena lock (issue 10's full-table profile:
/// ~4 % of the daemon's CPU waiting on it, ~20 % in malloc and free; two
/// glibc arenas, `M_ARENA_MAX`, only traded that for fragmentation).
#[cfg(feature = "jemalloc")]
#[global_allocator]
static ALLOCATOR: tikv_jemallocator::Jemalloc = tikv_jemallocator::Jemalloc;

/// jemalloc's options: memory freed after a full-table load goes back to
/// the system within a second (a background thread purges; the default
/// keeps dirty pages for 10 s), and two arenas for a daemon that runs a
/// handful of busy threads.
#[cfg(feature = "jemalloc")]
#[allow(non_upper_case_globals)]
#[export_name = "_rjem_malloc_conf"]
pub static malloc_conf: &[u8] =
    b"background_thread:true,narenas:2,dirty_decay_ms:1000,muzzy_decay_ms:0\0";

fn main() -> ExitCode {
    let cli = Cli::parse();
    let log = (cli.log_format, cli.log_level.clone());
    match cli.command {
        Command::Check { config } => match coldpotato::running::load(&config) {
            Ok(cfg) => {
                for w in &cfg.warnings {
                    eprintln!("{w}");
                }
                emit(&format!(
                    "{}: OK ({} neighbors, {} locations, {} registered prefixes, {} policies)\n",
                    config.display(),
                    cfg.neighbors.len(),
                    cfg.locations.len(),
                    cfg.registered_prefixes.len(),
                    cfg.policies.len()
                ))
            }
            Err(errs) => {
                // Every error up to a screenful; beyond, how many more.
                const SHOWN: usize = 50;
                for e in errs.iter().take(SHOWN) {
                    eprintln!("{e}");
                }
                if errs.0.len() > SHOWN {
                    eprintln!(
                        "{}: ... and {} more errors ({} in all)",
                        config.display(),
                        errs.0.len() - SHOWN,
                        errs.0.len()
                    );
                }
                ExitCode::from(1)
            }
        },
        Command::Completions { shell } => {
            let mut out = Vec::new();
            clap_complete::generate(shell, &mut Cli::command(), "coldpotato", &mut out);
            emit(&String::from_utf8_lossy(&out))
        }
        Command::Man => {
            let mut out = Vec::new();
            // Section 8: a system administration daemon.
            let man = clap_mangen::Man::new(Cli::command()).section("8");
            match man.render(&mut out) {
                Ok(()) => emit(&String::from_utf8_lossy(&out)),
                Err(e) => {
                    eprintln!("coldpotato: cannot render the manual page: {e}");
                    ExitCode::from(1)
                }
            }
        }
        Command::Show { what, opts } if opts.follow => {
            let mut out = std::io::stdout();
            let closed = coldpotato::cli::follow::stdout_closed;
            match coldpotato::cli::follow::run_follow(what, &opts, &mut out, &closed) {
                // Interrupted, or the reader went away (`| head`): as `tail -f`.
                Ok(()) => ExitCode::SUCCESS,
                Err(e) => {
                    eprintln!("{e}");
                    ExitCode::from(1)
                }
            }
        }
        // Paged views: each page is written as it arrives (`| head` ends it quietly).
        Command::Show { what, opts } if matches!(what, ShowWhat::Routes | ShowWhat::AdjRibOut) => {
            let mut out = std::io::stdout().lock();
            match coldpotato::cli::views::write_paged(what, &opts, &mut out) {
                Ok(()) => ExitCode::SUCCESS,
                Err(e) => {
                    eprintln!("{e}");
                    ExitCode::from(1)
                }
            }
        }
        Command::Show { what, opts } => match show(what, &opts) {
            Ok(s) => match emit(&s.text) {
                ok if ok == ExitCode::SUCCESS => ExitCode::from(s.status),
                failed => failed,
            },
            Err(e) => {
                eprintln!("{e}");
                ExitCode::from(1)
            }
        },
        Command::Neighbor(args) => control(&args.write(), &args.opts),
        Command::Reload { opts } => control(&coldpotato::cli::control::reload_write(), &opts),
        Command::LogLevel { level, opts } => {
            control(&coldpotato::cli::control::log_level_write(&level), &opts)
        }
        Command::Run { config } => {
            // From here on, even a fatal error is a log line in the chosen
            // format (a JSON collector sees why the daemon did not start).
            init_logging(&log, "info");
            run_job(
                "coldpotato cannot run",
                true,
                coldpotato::daemon::run(&config),
                |()| ExitCode::SUCCESS,
            )
        }
        Command::Lab { verbose } => {
            init_logging(&log, if verbose { "info" } else { "error" });
            run_job("lab", false, coldpotato::lab::run(), |passed| {
                if passed {
                    ExitCode::SUCCESS
                } else {
                    ExitCode::from(1)
                }
            })
        }
        Command::Loadgen(args) => {
            init_logging(&log, "info");
            run_job(
                "loadgen",
                false,
                coldpotato::lab::loadgen::run(args),
                |()| ExitCode::SUCCESS,
            )
        }
        Command::Sink(args) => {
            init_logging(&log, "info");
            run_job("sink", false, coldpotato::lab::sink::run(args), |()| {
                ExitCode::SUCCESS
            })
        }
    }
}
