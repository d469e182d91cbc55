//! Flags the `server` and `client connect` commands share.

/// `--auth`, `--mppe`, `--mppe-stateful`: the same words for the server
/// and the client as in the config file.
#[derive(clap::Args, Debug)]
pub struct SecurityArgs {
    /// Authentication methods allowed, strongest first (mschapv2, mschapv1,
    /// chap, pap).
    #[arg(long, default_value = "mschapv2", value_delimiter = ',')]
    pub auth: Vec<String>,
    /// MPPE policy: require-128, require, optional, none.
    #[arg(long, default_value = "require-128")]
    pub mppe: String,
    /// Offer stateful MPPE (stateless is the default and survives loss).
    #[arg(long)]
    pub mppe_stateful: bool,
}
