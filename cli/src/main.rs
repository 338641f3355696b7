//! `veilrank`: keys, encrypted recommendations, and a one-command demo.

use std::path::PathBuf;
use std::process::ExitCode;
use std::sync::Arc;
use std::time::Duration;

mod demo;
mod print;

use clap::{Args, Parser, Subcommand};
use print::{print, print_profile};
use veilrank_client::{keystore, Client, ClientError, ConnectOptions, Profile, SecretKey};
use veilrank_core::V1_128;

/// Private recommendations: your preferences are encrypted on this device; the server scores its
/// catalog without seeing them; only this device sees the scores and the ranking.
#[derive(Parser)]
#[command(name = "veilrank", version, about)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Create a secret key file (never overwrites one).
    Keygen {
        /// Where to write the key.
        #[arg(long, default_value = "veilrank.key")]
        out: PathBuf,
    },
    /// Ask a server for recommendations.
    Recommend(Recommend),
    /// Store your encrypted preferences on a server once, then get rankings with small requests.
    #[command(subcommand)]
    Profile(ProfileCommand),
    /// Start a server in-process with the demo catalog and run one encrypted recommendation.
    Demo {
        /// Items in the demo catalog.
        #[arg(long, default_value_t = veilrank_server::demo::DEFAULT_ITEMS)]
        items: usize,
        /// Topics you like (demo genres).
        #[arg(long, value_delimiter = ',', default_value = "jazz,documentary")]
        likes: Vec<String>,
        /// How many items to show.
        #[arg(long, default_value_t = 10)]
        top: usize,
    },
}

#[derive(Args)]
struct Recommend {
    /// The server's base URL.
    #[arg(long)]
    server: String,
    #[command(flatten)]
    connection: Connection,
    #[command(flatten)]
    preferences: Preferences,
    #[command(flatten)]
    output: Output,
    /// Secret key file; a fresh key for this one query when the file does not exist.
    #[arg(long, default_value = "veilrank.key")]
    key: PathBuf,
}

/// Which catalog, with which API key.
#[derive(Args)]
struct Connection {
    /// The catalog to use (the server's default when absent).
    #[arg(long)]
    catalog: Option<String>,
    /// The app's API key, if the server asks for one.
    #[arg(long, env = "VEILRANK_API_KEY", hide_env_values = true)]
    api_key: Option<String>,
}

/// The user's preferences: a vector, or topics of the catalog.
#[derive(Args)]
struct Preferences {
    /// Your preference vector, comma-separated.
    #[arg(
        long,
        value_delimiter = ',',
        allow_hyphen_values = true,
        conflicts_with = "likes",
        required_unless_present = "likes"
    )]
    prefs: Option<Vec<f32>>,
    /// Topics you like, comma-separated (see the catalog's topics).
    #[arg(long, value_delimiter = ',')]
    likes: Option<Vec<String>>,
}

/// How rankings are printed.
#[derive(Args)]
struct Output {
    /// How many items to show.
    #[arg(long, default_value_t = 10)]
    top: usize,
    /// Print JSON: an array of {rank, id, title, score}.
    #[arg(long)]
    json: bool,
}

#[derive(Subcommand)]
enum ProfileCommand {
    /// Encrypt your preferences and store them on the server; the profile's id and access token
    /// are kept beside your key (KEY.profile.json).
    Create {
        /// The server's base URL.
        #[arg(long)]
        server: String,
        #[command(flatten)]
        connection: Connection,
        #[command(flatten)]
        preferences: Preferences,
        /// Secret key file (created if missing).
        #[arg(long, default_value = "veilrank.key")]
        key: PathBuf,
    },
    /// Rank the catalog for your stored profile.
    Score {
        #[command(flatten)]
        output: Output,
        #[command(flatten)]
        stored: Stored,
    },
    /// Replace the stored preferences (same profile, new content).
    Replace {
        #[command(flatten)]
        preferences: Preferences,
        #[command(flatten)]
        stored: Stored,
    },
    /// Erase the stored profile from the server, for good, and forget it here.
    Delete {
        #[command(flatten)]
        stored: Stored,
    },
    /// What the server keeps about your profile (metadata, never content).
    Show {
        #[command(flatten)]
        stored: Stored,
    },
}

/// A profile kept beside a key.
#[derive(Args)]
struct Stored {
    /// Secret key file; its profile is KEY.profile.json.
    #[arg(long, default_value = "veilrank.key")]
    key: PathBuf,
    /// The app's API key, if the server asks for one.
    #[arg(long, env = "VEILRANK_API_KEY", hide_env_values = true)]
    api_key: Option<String>,
}

#[tokio::main]
async fn main() -> ExitCode {
    let cli = Cli::parse();
    let result = match cli.command {
        Command::Keygen { out } => keygen(&out),
        Command::Recommend(args) => recommend(args).await,
        Command::Profile(command) => profile(command).await,
        Command::Demo { items, likes, top } => demo::demo(items, &likes, top).await,
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("veilrank: {e}");
            ExitCode::FAILURE
        }
    }
}

type AnyResult = Result<(), Box<dyn std::error::Error>>;

fn keygen(out: &std::path::Path) -> AnyResult {
    keystore::create(out)?;
    println!(
        "wrote a new secret key to {} (keep it private: it decrypts your scores)",
        out.display()
    );
    Ok(())
}

fn load_or_ephemeral_key(
    path: &std::path::Path,
) -> Result<Arc<SecretKey>, Box<dyn std::error::Error>> {
    if path.exists() {
        Ok(Arc::new(keystore::load(path)?))
    } else {
        eprintln!(
            "note: no key at {}; using a fresh key for this query (veilrank keygen makes one)",
            path.display()
        );
        Ok(Arc::new(SecretKey::generate(&V1_128)?))
    }
}

async fn connect(
    server: &str,
    catalog: Option<String>,
    api_key: Option<String>,
) -> Result<Client, Box<dyn std::error::Error>> {
    let options = ConnectOptions {
        catalog,
        api_key,
        ready_timeout: Duration::from_secs(30),
        ..ConnectOptions::default()
    };
    Ok(Client::connect_with(server, options).await?)
}

fn preferences(
    client: &Client,
    args: &Preferences,
) -> Result<Vec<f32>, Box<dyn std::error::Error>> {
    match (&args.prefs, &args.likes) {
        (Some(p), _) => Ok(p.clone()),
        (None, Some(likes)) => Ok(client
            .preferences_from_topics(&likes.iter().map(String::as_str).collect::<Vec<_>>())?),
        (None, None) => Err("give --prefs or --likes".into()),
    }
}

async fn recommend(args: Recommend) -> AnyResult {
    let key = load_or_ephemeral_key(&args.key)?;
    let client = connect(
        &args.server,
        args.connection.catalog,
        args.connection.api_key,
    )
    .await?;
    let prefs = preferences(&client, &args.preferences)?;
    let recommendations = client.recommend(&key, &prefs, args.output.top).await?;
    print(&recommendations, &args.output)
}

async fn profile(command: ProfileCommand) -> AnyResult {
    match command {
        ProfileCommand::Create {
            server,
            connection,
            preferences: prefs,
            key: key_path,
        } => {
            let key = if key_path.exists() {
                keystore::load(&key_path)?
            } else {
                eprintln!("note: created a new secret key at {}", key_path.display());
                keystore::create(&key_path)?
            };
            let key = Arc::new(key);
            let client = connect(&server, connection.catalog, connection.api_key).await?;
            let prefs = preferences(&client, &prefs)?;
            let profile = client.create_profile(&key, &prefs).await?;
            keystore::save_profile(&key_path, &profile)?;
            print_profile(&profile.info);
            println!(
                "kept the profile's id and access token in {}",
                keystore::profile_path(&key_path).display()
            );
        }
        ProfileCommand::Score { output, stored } => {
            let (key, profile, client) = open_stored(&stored).await?;
            let recommendations = client.recommend_profile(&profile, &key, output.top).await?;
            print(&recommendations, &output)?;
        }
        ProfileCommand::Replace {
            preferences: prefs,
            stored,
        } => {
            let (key, mut profile, client) = open_stored(&stored).await?;
            let prefs = preferences(&client, &prefs)?;
            let info = client.replace_profile(&mut profile, &key, &prefs).await?;
            keystore::save_profile(&stored.key, &profile)?;
            print_profile(&info);
        }
        ProfileCommand::Delete { stored } => {
            let (_, profile, client) = open_stored(&stored).await?;
            match client.delete_profile(&profile).await {
                // already gone on the server: forget it here too
                Ok(()) | Err(ClientError::ProfileNotFound) => {}
                Err(e) => return Err(e.into()),
            }
            keystore::remove_profile(&stored.key)?;
            println!("erased profile {} from {}", profile.id, profile.server);
        }
        ProfileCommand::Show { stored } => {
            let (_, profile, client) = open_stored(&stored).await?;
            print_profile(&client.profile_info(&profile).await?);
        }
    }
    Ok(())
}

async fn open_stored(
    stored: &Stored,
) -> Result<(Arc<SecretKey>, Profile, Client), Box<dyn std::error::Error>> {
    let key = Arc::new(keystore::load(&stored.key)?);
    let profile = keystore::load_profile(&stored.key)?;
    let client = connect(
        &profile.server,
        Some(profile.catalog.clone()),
        stored.api_key.clone(),
    )
    .await?;
    Ok((key, profile, client))
}
