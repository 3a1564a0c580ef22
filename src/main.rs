//! `warden`: the IP-PBX binary. A thin shell over the control-plane crate.

use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::Context;
use clap::{Parser, Subcommand};
use warden_config::Config;

/// The control plane allocates per message (parsing, building, SDP): glibc's allocator
/// spent a tenth of its CPU under call load, growing and trimming per-thread arenas.
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

/// Warden IP-PBX.
#[derive(Parser, Debug)]
#[command(name = "warden", version, about)]
struct Cli {
    /// Configuration file (YAML). Every key has a default, so none is needed.
    #[arg(long, short = 'c', global = true, env = "WARDEN_CONFIG")]
    config: Option<PathBuf>,
    #[command(subcommand)]
    command: Option<Command>,
}

#[derive(Subcommand, Debug)]
enum Command {
    /// Run the PBX (the default).
    Run,
    /// Validate a configuration file; names the offending key and line.
    CheckConfig {
        /// The file to check (defaults to --config).
        file: Option<PathBuf>,
        /// Print the effective configuration, defaults filled in.
        #[arg(long)]
        print: bool,
    },
    /// Apply database migrations and exit.
    Migrate,
    /// Manage extensions in the database.
    Extension {
        #[command(subcommand)]
        action: ExtensionCmd,
    },
}

#[derive(Subcommand, Debug)]
enum ExtensionCmd {
    /// Add an extension (fails if the number exists).
    Add {
        /// Extension number, e.g. 1001.
        number: String,
        /// Display name.
        #[arg(long)]
        name: String,
        /// SIP digest password.
        #[arg(long, env = "WARDEN_EXTENSION_SECRET")]
        secret: String,
    },
    /// List extensions.
    List,
    /// Remove an extension and its registrations.
    Remove {
        /// Extension number.
        number: String,
    },
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    match run(cli) {
        Ok(code) => code,
        Err(e) => {
            eprintln!("error: {e:#}");
            ExitCode::FAILURE
        }
    }
}

fn load_config(path: Option<&PathBuf>) -> anyhow::Result<Config> {
    let mut config = match path {
        Some(p) => Config::load(p)?,
        None => Config::default(),
    };
    config.apply_process_env();
    config.validate()?;
    Ok(config)
}

fn run(cli: Cli) -> anyhow::Result<ExitCode> {
    match cli.command.unwrap_or(Command::Run) {
        Command::CheckConfig { file, print } => {
            let path = file.or(cli.config);
            let result = load_config(path.as_ref());
            match result {
                Ok(config) => {
                    if print {
                        print!("{}", config.to_yaml()?);
                    } else {
                        let shown = path.map(|p| p.display().to_string());
                        println!("{}: ok", shown.as_deref().unwrap_or("built-in defaults"));
                    }
                    Ok(ExitCode::SUCCESS)
                }
                Err(e) => {
                    eprintln!("{e:#}");
                    Ok(ExitCode::from(2))
                }
            }
        }
        Command::Run => {
            let config = load_config(cli.config.as_ref())?;
            warden_control::logging::init(&config);
            let rt = tokio::runtime::Builder::new_multi_thread()
                .worker_threads(config.resolve_control_threads(&warden_control::available_cpus()))
                .enable_all()
                .thread_name("warden-control")
                .build()
                .context("starting the tokio runtime")?;
            rt.block_on(warden_control::run(config))?;
            Ok(ExitCode::SUCCESS)
        }
        Command::Migrate => {
            let config = load_config(cli.config.as_ref())?;
            block_on(async {
                let store = warden_control::open_store(&config).await?;
                println!("migrations applied ({:?} database)", store.kind());
                anyhow::Ok(())
            })?;
            Ok(ExitCode::SUCCESS)
        }
        Command::Extension { action } => {
            let config = load_config(cli.config.as_ref())?;
            block_on(extension(config, action))?;
            Ok(ExitCode::SUCCESS)
        }
    }
}

fn block_on<F: std::future::Future<Output = anyhow::Result<()>>>(f: F) -> anyhow::Result<()> {
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .context("starting the tokio runtime")?
        .block_on(f)
}

async fn extension(config: Config, action: ExtensionCmd) -> anyhow::Result<()> {
    let store = warden_control::open_store(&config).await?;
    match action {
        ExtensionCmd::Add {
            number,
            name,
            secret,
        } => {
            let ext = warden_config::ExtensionConfig {
                number,
                name,
                secret,
                voicemail_pin: None,
            };
            // The same rules as for extensions in the configuration file.
            let probe = Config {
                extensions: vec![ext.clone()],
                ..Config::default()
            };
            probe.validate().context("invalid extension")?;
            store
                .create_extension(&warden_control::new_extension(&ext))
                .await?;
            println!("added extension {}", ext.number);
        }
        ExtensionCmd::List => {
            let list = store.list_extensions(&Default::default()).await?;
            println!("{:<16} {:<32} {:>9}", "NUMBER", "NAME", "ENABLED");
            for e in list.items {
                println!("{:<16} {:<32} {:>9}", e.number, e.display_name, e.enabled);
            }
        }
        ExtensionCmd::Remove { number } => {
            store.remove_all_bindings(&number).await?;
            store.delete_extension(&number).await?;
            println!("removed extension {number}");
        }
    }
    Ok(())
}
