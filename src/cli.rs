//! The command line: clap definitions for the global options and every subcommand. Doc comments
//! here are the help text. Parsing only; nothing here validates values beyond their syntax
//! (that is `settings`) or performs I/O.

use std::path::PathBuf;

use std::ffi::OsString;

use clap::error::{ContextKind, ContextValue, ErrorKind};
use clap::{Args, ColorChoice, CommandFactory, FromArgMatches, Parser, Subcommand, ValueEnum};

use crate::cloud::Cloud;
use crate::environment::Environment;
use crate::exit_codes::ExitCode;

/// The version and the commit it was built from.
pub const VERSION: &str = concat!(env!("CARGO_PKG_VERSION"), " (", env!("CSP_GIT_COMMIT"), ")");

/// Onboard Microsoft CSP customer tenants: sign in once, map clients to tenants, consent a CPV app.
///
/// The reference is in the docs/ folder of csp's repository and its release archives; every
/// command's help has examples, and `csp man --dir DIR` writes a manual page per command.
#[derive(Debug, Parser)]
#[command(
    name = "csp",
    version = VERSION,
    propagate_version = true,
    max_term_width = 100,
    after_help = ExitCode::help_summary()
)]
pub struct Cli {
    #[command(flatten)]
    pub global: GlobalArgs,

    #[command(subcommand)]
    pub command: Command,
}

/// Parses a command line as `Cli::parse` would, except that clap's help and errors are
/// coloured only where csp's own output would be (`--no-color`, `NO_COLOR`, `TERM=dumb` turn
/// it off; clap leaves pipes plain by itself), and a long option written with one dash
/// (`-all`) gets a tip naming the long option. `--help` and `--version` come back as errors
/// of their kind, as with clap.
pub fn parse_from<I, T>(args: I, env: &Environment) -> Result<Cli, clap::Error>
where
    I: IntoIterator<Item = T>,
    T: Into<OsString>,
{
    let args: Vec<OsString> = args.into_iter().map(Into::into).collect();
    let no_color_flag = options_of(&args).any(|a| a == "--no-color");
    let mut cmd = Cli::command();
    if !crate::settings::color_allowed(no_color_flag, env) {
        cmd = cmd.color(ColorChoice::Never);
    }
    let matches = cmd
        .try_get_matches_from_mut(&args)
        .map_err(|e| with_single_dash_tip(e, &mut cmd, &args))?;
    Cli::from_arg_matches(&matches).map_err(|e| e.format(&mut cmd))
}

/// The arguments before a `--` (after it everything is a value), program name skipped.
fn options_of(args: &[OsString]) -> impl Iterator<Item = &str> {
    args.iter()
        .skip(1)
        .filter_map(|a| a.to_str())
        .take_while(|a| *a != "--")
}

/// `-all` is read by clap as the short options `-a -l -l`; when the subcommand the line
/// reached has a long option of that name, say so as clap says it for typos.
fn with_single_dash_tip(
    mut err: clap::Error,
    cmd: &mut clap::Command,
    args: &[OsString],
) -> clap::Error {
    if err.kind() != ErrorKind::UnknownArgument {
        return err;
    }
    cmd.build();
    let mut reached: &clap::Command = cmd;
    for word in options_of(args) {
        if let Some(sub) = reached.find_subcommand(word) {
            reached = sub;
        }
    }
    let longs: Vec<&str> = reached
        .get_arguments()
        .chain(cmd.get_arguments())
        .filter_map(|a| a.get_long())
        .collect();
    let written = options_of(args).find(|word| {
        word.strip_prefix('-')
            .filter(|rest| !rest.starts_with('-') && rest.len() > 1)
            .map(|rest| rest.split('=').next().unwrap_or(rest))
            .is_some_and(|name| longs.contains(&name))
    });
    if let Some(word) = written {
        err.insert(
            ContextKind::InvalidArg,
            ContextValue::String(word.to_string()),
        );
        err.insert(
            ContextKind::SuggestedArg,
            ContextValue::String(format!("-{word}")),
        );
    }
    err
}

/// Options every command accepts. Their environment variables are read by `settings`, not by
/// clap, so a value set in the environment never shows in a usage line as if it were typed.
#[derive(Debug, Clone, Args, Default)]
#[command(next_help_heading = "Global options")]
pub struct GlobalArgs {
    /// Which partner sign-in and settings to use [env: CSP_PROFILE]
    #[arg(long, global = true, value_name = "NAME")]
    pub profile: Option<String>,

    /// Output format: `table` for people, `json` for scripts, `csv` for spreadsheets
    /// [env: CSP_OUTPUT]
    #[arg(short, long, global = true, value_name = "FORMAT")]
    pub output: Option<OutputFormat>,

    /// Microsoft cloud: public, usgov or china [env: CSP_CLOUD]
    #[arg(long, global = true, value_name = "CLOUD")]
    pub cloud: Option<Cloud>,

    /// Directory holding config.toml and mappings.json [env: CSP_CONFIG_DIR]
    #[arg(long, global = true, value_name = "DIR")]
    pub config_dir: Option<PathBuf>,

    /// The client→customer mapping file [default: <config-dir>/mappings.json]
    /// [env: CSP_MAPPINGS]
    #[arg(long, global = true, value_name = "FILE")]
    pub mappings: Option<PathBuf>,

    /// More diagnostics on stderr (repeat for more: -v, -vv, -vvv)
    #[arg(short, long, global = true, action = clap::ArgAction::Count, conflicts_with = "quiet")]
    pub verbose: u8,

    /// Only errors on stderr
    #[arg(short, long, global = true)]
    pub quiet: bool,

    /// Never colour the output [env: NO_COLOR]
    #[arg(long, global = true)]
    pub no_color: bool,

    /// Run against csp's built-in simulator of Microsoft's services (nothing leaves this
    /// machine; state under <config-dir>/sandbox) [env: CSP_SANDBOX]
    #[arg(long, global = true)]
    pub sandbox: bool,

    /// The number of simulated customers, when the sandbox is (re)seeded [default: a built-in
    /// set of 14] [env: CSP_SANDBOX_SEED]
    #[arg(long, global = true, value_name = "N",
          value_parser = clap::value_parser!(u32).range(SANDBOX_SEED_RANGE))]
    pub sandbox_seed: Option<u32>,
}

/// How many customers a sandbox may be seeded with (flag and `CSP_SANDBOX_SEED` alike).
pub const SANDBOX_SEED_RANGE: std::ops::RangeInclusive<i64> = 1..=100_000;

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum, Default)]
pub enum OutputFormat {
    #[default]
    Table,
    Json,
    Csv,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    Authorize(AuthorizeArgs),
    Status(StatusArgs),
    Logout(LogoutArgs),
    Token(TokenArgs),
    Customers(CustomersArgs),
    Domains(DomainsArgs),
    Map(MapArgs),
    Consent(ConsentArgs),
    Gdap(GdapArgs),
    Audit(AuditArgs),
    Doctor(DoctorArgs),
    Demo(DemoArgs),
    Setup(SetupArgs),
    Completions(CompletionsArgs),
    Man(ManArgs),
    ExitCodes(ExitCodesArgs),
}

/// Sign the partner user in and store the refresh token
///
/// Asks Partner Center for `user_impersonation` plus `offline_access openid profile`. By
/// default with the device-code flow: prints the verification URL and code on stderr and waits
/// until you have signed in. With --browser, opens the browser on Microsoft's sign-in page and
/// listens on localhost for its answer (authorization code with PKCE): use it where Conditional
/// Access blocks the device-code flow. The refresh token (and a client secret given on stdin)
/// go to the token store; the user, tenant, client id, cloud and store go to config.toml.
///
/// Examples:
///   csp authorize --client-id 11111111-2222-3333-4444-555555555555
///   csp authorize --browser
///   csp authorize --tenant contoso.onmicrosoft.com --insecure-storage
///   printf '%s' "$SECRET" | csp authorize --client-id $APP --client-secret-stdin
///   CSP_KEY_VAULT_URL=https://contoso-csp.vault.azure.net csp authorize --token-store azure-key-vault
#[derive(Debug, Clone, Args, Default)]
#[command(verbatim_doc_comment)]
pub struct AuthorizeArgs {
    /// The partner tenant (id or domain) [default: the profile's, else `organizations`]
    #[arg(long, value_name = "TENANT")]
    pub tenant: Option<String>,

    /// The partner's own app registration (also CSP_CLIENT_ID or the profile's client_id)
    #[arg(long, value_name = "APP_ID")]
    pub client_id: Option<String>,

    /// Read the app's client secret from stdin (confidential clients) and store it
    #[arg(long)]
    pub client_secret_stdin: bool,

    /// Sign in in the browser (authorization code with PKCE on a localhost redirect) instead of
    /// with a device code
    #[arg(long)]
    pub browser: bool,

    /// Store the sign-in in <config-dir>/credentials.json (mode 0600) instead of the OS
    /// keyring; the profile remembers the choice (same as CSP_TOKEN_STORE=file)
    #[arg(long)]
    pub insecure_storage: bool,

    /// Where to store the sign-in: the OS keyring, a file, or Azure Key Vault (a secret in the
    /// vault CSP_KEY_VAULT_URL names; for unattended runs, which write the renewed token back);
    /// the profile remembers it (same as CSP_TOKEN_STORE)
    #[arg(
        long,
        value_name = "STORE",
        conflicts_with = "insecure_storage",
        value_parser = clap::builder::PossibleValuesParser::new(
            crate::secrets::StoreKind::USER_CHOICES.map(crate::secrets::StoreKind::as_str)
        ),
    )]
    pub token_store: Option<String>,
}

/// Show who is signed in, and prove the sign-in still works
///
/// Redeems the stored refresh token for a Partner Center access token (skip with
/// --offline). Exits 4 when there is no sign-in or it no longer works.
///
/// Examples:
///   csp status
///   csp status --offline -o json
#[derive(Debug, Clone, Args, Default)]
#[command(verbatim_doc_comment)]
pub struct StatusArgs {
    /// Do not contact Microsoft; report what is stored
    #[arg(long)]
    pub offline: bool,
}

/// Forget the profile's stored sign-in (refresh token and client secret)
///
/// Idempotent: succeeds when nothing was stored.
///
/// Examples:
///   csp logout
///   csp logout --profile fabrikam
#[derive(Debug, Clone, Args, Default)]
#[command(verbatim_doc_comment)]
pub struct LogoutArgs {}

/// Print one access token, and nothing else, on stdout
///
/// The token is for Partner Center in the partner tenant unless --resource or --tenant say
/// otherwise. --refresh-token prints the stored refresh token instead: the one way to move a
/// sign-in into a CI secret (CSP_REFRESH_TOKEN). Treat both like passwords.
///
/// Examples:
///   curl -H "Authorization: Bearer $(csp token)" https://api.partnercenter.microsoft.com/v1/customers
///   csp token --resource graph --tenant contoso.onmicrosoft.com
///   csp token --refresh-token | gh secret set CSP_REFRESH_TOKEN
#[derive(Debug, Clone, Args, Default)]
#[command(verbatim_doc_comment)]
pub struct TokenArgs {
    /// partner-center, graph, or a resource URL such as https://management.azure.com
    #[arg(long, value_name = "RESOURCE", conflicts_with = "refresh_token")]
    pub resource: Option<String>,

    /// A customer tenant (id or domain) to get the token in [default: the partner tenant]
    #[arg(long, value_name = "TENANT", conflicts_with = "refresh_token")]
    pub tenant: Option<String>,

    /// Print the stored refresh token instead of an access token
    #[arg(long)]
    pub refresh_token: bool,
}

/// List every Partner Center customer (all pages)
///
/// Sorted by name. --search keeps the customers whose company name or domain starts with
/// PREFIX. --gdap adds each customer's GDAP relationship (status, roles, end date) and the
/// customers reached only through GDAP (relationship `gdap_only`).
///
/// Examples:
///   csp customers
///   csp customers --search cont
///   csp customers --gdap -o csv > customers.csv
#[derive(Debug, Clone, Args, Default)]
#[command(verbatim_doc_comment)]
pub struct CustomersArgs {
    /// Only customers whose company name or domain starts with PREFIX (case-insensitive)
    #[arg(long, value_name = "PREFIX")]
    pub search: Option<String>,

    /// Add GDAP relationship status and roles, and the GDAP-only customers
    #[arg(long)]
    pub gdap: bool,
}

/// List a customer tenant's domains
///
/// Read from Microsoft Graph in the customer tenant. Before the app is consented there, csp
/// falls back to Partner Center's record of the customer (its onmicrosoft.com domain and the
/// custom domains Partner Center knows) and says so on stderr.
///
/// Examples:
///   csp domains --customer contoso.onmicrosoft.com
///   csp domains --customer 52eaad04-13a2-4a2f-9ce8-93a294fadf36 -o json
///   csp domains --customer "Contoso Ltd"
#[derive(Debug, Clone, Args, Default)]
#[command(verbatim_doc_comment)]
pub struct DomainsArgs {
    /// The customer: its tenant id, one of its domains, or a mapped client name
    #[arg(long, value_name = "TENANT_ID|DOMAIN|CLIENT")]
    pub customer: String,
}

/// Map a client to the customer tenant that owns one of its domains
///
/// CLIENT is your own name for the client (1-128 characters, unique without regard to case).
/// DOMAIN is resolved to its tenant through Microsoft's public OpenID metadata, and that tenant
/// must be your customer in Partner Center or through an active GDAP relationship. A client
/// already mapped to another tenant, or a tenant already mapped to another client, is refused
/// unless --replace.
///
/// Examples:
///   csp map --customer "Contoso Ltd" --domain contoso.com
///   csp map list
///   csp map import clients.csv
///   csp map suggest --clients clients.txt -o csv > suggested.csv
#[derive(Debug, Clone, Args, Default)]
#[command(
    verbatim_doc_comment,
    args_conflicts_with_subcommands = true,
    subcommand_negates_reqs = true
)]
pub struct MapArgs {
    #[command(subcommand)]
    pub command: Option<MapCommand>,

    /// The client: your own name for it
    #[arg(long, value_name = "CLIENT", required = true)]
    pub customer: Option<String>,

    /// A domain the client's tenant has verified
    #[arg(long, value_name = "DOMAIN", required = true)]
    pub domain: Option<String>,

    /// Replace an existing mapping of this client, or of this tenant
    #[arg(long)]
    pub replace: bool,
}

#[derive(Debug, Clone, Subcommand)]
pub enum MapCommand {
    List(MapListArgs),
    Remove(MapRemoveArgs),
    Import(MapImportArgs),
    Suggest(MapSuggestArgs),
}

/// List the mappings, sorted by client
///
/// Examples:
///   csp map list
///   csp map list -o json
#[derive(Debug, Clone, Args, Default)]
#[command(verbatim_doc_comment)]
pub struct MapListArgs {}

/// Remove a client's mapping
///
/// Examples:
///   csp map remove --customer "Contoso Ltd"
#[derive(Debug, Clone, Args, Default)]
#[command(verbatim_doc_comment)]
pub struct MapRemoveArgs {
    /// The client to forget
    #[arg(long, value_name = "CLIENT")]
    pub customer: String,
}

/// Map many clients from a CSV file with the header `customer,domain`
///
/// Every row is tried (several at once, within Partner Center's rate limits) and reported with
/// its line number; the rows that check out are mapped. Exits 5 when any row failed. Columns
/// after `customer,domain` (as `map suggest` writes them) are ignored.
///
/// Examples:
///   csp map import clients.csv
///   csp map import clients.csv -o json > report.json
#[derive(Debug, Clone, Args, Default)]
#[command(verbatim_doc_comment)]
pub struct MapImportArgs {
    /// The CSV file (UTF-8, with or without BOM)
    #[arg(value_name = "FILE")]
    pub file: PathBuf,

    /// Replace existing mappings of the clients or tenants in the file
    #[arg(long)]
    pub replace: bool,

    /// How many rows to check at once
    #[arg(long, value_name = "N", default_value_t = 8, value_parser = clap::value_parser!(u16).range(1..=64))]
    pub jobs: u16,
}

/// Suggest which customer each of your clients is, by company name
///
/// FILE lists your client names, one per line, or as a CSV column `customer`. Each is compared
/// with your Partner Center customers' company names, ignoring case, accents, punctuation and
/// legal forms (Ltd, Inc, GmbH, B.V., ...). Good matches are proposed with their score and the
/// runner-up; names with no good or no clear match are listed, never guessed. `-o csv` writes
/// the proposals as a file `map import` accepts: review it, then import it.
///
/// Examples:
///   csp map suggest --clients clients.txt
///   csp map suggest --clients clients.txt -o csv > suggested.csv && csp map import suggested.csv
#[derive(Debug, Clone, Args, Default)]
#[command(verbatim_doc_comment)]
pub struct MapSuggestArgs {
    /// Your client names: one per line, or a CSV with a `customer` column
    #[arg(long, value_name = "FILE")]
    pub clients: PathBuf,
}

/// Grant the CPV app its delegated permissions in mapped customers, and prove it
///
/// For each customer: reads what the app holds there (Graph, in the customer tenant), POSTs
/// each declared resource it lacks to Partner Center's application-consent API, then reads the
/// grants back until they show (Microsoft takes a while to propagate). A customer already
/// holding every declared scope is left unchanged. One holding fewer scopes fails with
/// scopes_differ unless --force, which deletes the consent and posts the union of what it held
/// and what is declared, so nothing consented before is lost.
///
/// What to grant comes from the profile's [consent] section of config.toml, or from --app-id
/// and --grant (flags win). Exits 0 when every customer ended well, 5 when some failed, 4 when
/// the sign-in is gone or Partner Center requires MFA.
///
/// Examples:
///   csp consent --all
///   csp consent --customer Contoso --grant graph=Directory.Read.All,User.Read.All
///   csp consent --all --dry-run
///   csp consent --customer Contoso --force -o json
#[derive(Debug, Clone, Args, Default)]
#[command(verbatim_doc_comment)]
#[command(group(clap::ArgGroup::new("targets").required(true).args(["customer", "all"])))]
pub struct ConsentArgs {
    /// A mapped client (repeatable)
    #[arg(long, value_name = "CLIENT")]
    pub customer: Vec<String>,

    /// Every mapped client
    #[arg(long)]
    pub all: bool,

    /// The CPV application (must be the app you signed in with)
    #[arg(long, value_name = "APP_ID")]
    pub app_id: Option<String>,

    /// A resource and its scopes: graph|exchange|partner-center|arm|APP_ID=SCOPE[,SCOPE...]
    /// (repeatable; replaces the config's grants)
    #[arg(long, value_name = "RESOURCE=SCOPES")]
    pub grant: Vec<String>,

    /// The name Partner Center records with the consent [default: the config's, else "csp"]
    #[arg(long, value_name = "NAME")]
    pub display_name: Option<String>,

    /// Re-grant customers that hold fewer scopes than declared (DELETE, then POST the union)
    #[arg(long)]
    pub force: bool,

    /// Show what would be done; send no POST or DELETE
    #[arg(long)]
    pub dry_run: bool,

    /// Customers worked on at once
    #[arg(long, value_name = "N", default_value_t = 16, value_parser = clap::value_parser!(u16).range(1..=128))]
    pub jobs: u16,

    /// How long to wait for a grant to show in the tenant
    #[arg(long, value_name = "SECS", default_value_t = 120, value_parser = clap::value_parser!(u64).range(1..=3600), conflicts_with = "no_verify")]
    pub verify_timeout: u64,

    /// Do not read the grants back (results are granted_unverified)
    #[arg(long)]
    pub no_verify: bool,

    /// Consent writes per second per application (Partner Center allows 50)
    #[arg(long, value_name = "N", default_value_t = 48, value_parser = clap::value_parser!(u32).range(1..=50))]
    pub rate: u32,
}

/// Create, approve, assign, renew and end GDAP relationships
///
/// Takes a customer from no relationship to one csp can consent through: request a
/// relationship from a template (its roles, duration and auto-extend), send the customer the
/// approval link, wait for the approval, and give each role to its partner security group.
///
/// Examples:
///   csp gdap request --customer contoso.com --template consent
///   csp gdap request --new --template standard
///   csp gdap wait --customer contoso.com
///   csp gdap assign --customer contoso.com --create-groups --add-member me
///   csp gdap list --expiring 30
///   csp gdap renew --yes
#[derive(Debug, Clone, Args)]
#[command(verbatim_doc_comment)]
pub struct GdapArgs {
    #[command(subcommand)]
    pub command: GdapCommand,
}

#[derive(Debug, Clone, Subcommand)]
pub enum GdapCommand {
    Roles(GdapRolesArgs),
    Templates(GdapTemplatesArgs),
    List(GdapListArgs),
    Request(GdapRequestArgs),
    Wait(GdapWaitArgs),
    Assign(GdapAssignArgs),
    Renew(GdapRenewArgs),
    Terminate(GdapTerminateArgs),
}

/// List the Entra roles csp knows, and which of them can consent the CPV app
///
/// Roles are named in templates and with --role by these display names or template ids.
///
/// Examples:
///   csp gdap roles
///   csp gdap roles -o json
#[derive(Debug, Clone, Args, Default)]
#[command(verbatim_doc_comment)]
pub struct GdapRolesArgs {}

/// List the GDAP templates: built-in ones and the profile's own
///
/// A template names roles, a duration, auto-extend, and the partner security group that holds
/// each role. Built in: `consent` (Cloud Application Administrator: only what csp needs) and
/// `standard` (a least-privilege set for an MSP's daily work). Define your own in config.toml
/// under [profiles.NAME.gdap.templates.TEMPLATE].
///
/// Examples:
///   csp gdap templates
#[derive(Debug, Clone, Args, Default)]
#[command(verbatim_doc_comment)]
pub struct GdapTemplatesArgs {}

/// List the partner's GDAP relationships, with their roles and access assignments
///
/// Every relationship, including those awaiting a customer's approval (their approval link is
/// shown) and those created for a customer who does not exist yet.
///
/// Examples:
///   csp gdap list
///   csp gdap list --customer contoso.com -o json
///   csp gdap list --status active --expiring 30
#[derive(Debug, Clone, Args, Default)]
#[command(verbatim_doc_comment)]
pub struct GdapListArgs {
    /// Only this customer's: a mapped client, a tenant id or a domain
    #[arg(long, value_name = "CLIENT|TENANT|DOMAIN")]
    pub customer: Option<String>,

    /// Only relationships in this status (repeatable): created, approval_pending, active,
    /// expiring, expired, terminated, …
    #[arg(long, value_name = "STATUS")]
    pub status: Vec<String>,

    /// Only active relationships that end within DAYS days
    #[arg(long, value_name = "DAYS", value_parser = clap::value_parser!(u32).range(0..=3650))]
    pub expiring: Option<u32>,
}

/// Request a GDAP relationship and print the link the customer approves it with
///
/// Creates the relationship from a template (or --role) and locks it for approval. For an
/// existing customer (--customer) or a new one (--new: any customer may approve the link). The
/// rules Microsoft enforces are checked first: a name of at most 50 characters, unique among
/// your relationships; a duration from P1D to P2Y; auto-extend only P180D or off, and off with
/// Global Administrator. Repeating a request finds the relationship it made and prints its
/// link again.
///
/// Examples:
///   csp gdap request --customer contoso.com --template consent
///   csp gdap request --new --template standard --name "Fabrikam onboarding"
///   csp gdap request --customer Contoso --role "Cloud Application Administrator" --duration P365D
#[derive(Debug, Clone, Args, Default)]
#[command(verbatim_doc_comment)]
#[command(group(clap::ArgGroup::new("who").required(true).args(["customer", "new"])))]
#[command(group(clap::ArgGroup::new("what").required(true).args(["template", "role"])))]
pub struct GdapRequestArgs {
    /// An existing customer: a mapped client, a tenant id or a domain
    #[arg(long, value_name = "CLIENT|TENANT|DOMAIN")]
    pub customer: Option<String>,

    /// A customer who does not exist yet: whoever approves the link becomes the customer
    #[arg(long)]
    pub new: bool,

    /// The template whose roles, duration and auto-extend to request (csp gdap templates)
    #[arg(long, value_name = "NAME")]
    pub template: Option<String>,

    /// A role to request, by name or template id (repeatable; instead of --template)
    #[arg(long, value_name = "ROLE")]
    pub role: Vec<String>,

    /// The relationship's name [default: the customer and the template]
    #[arg(long, value_name = "NAME")]
    pub name: Option<String>,

    /// How long the relationship lasts, P1D to P2Y [default: the template's, else P730D]
    #[arg(long, value_name = "ISO8601")]
    pub duration: Option<String>,

    /// Do not extend the relationship automatically when it ends
    #[arg(long)]
    pub no_auto_extend: bool,
}

/// Wait until a relationship is approved and active
///
/// Polls the relationship (or every pending relationship of a customer) until it is active
/// (exit 0), or ends otherwise: expired, terminated (exit 1, saying which), or the timeout
/// passes (exit 1). Ctrl-C stops at once (exit 130).
///
/// Examples:
///   csp gdap wait 5d2b0a8e-…-…
///   csp gdap wait --customer contoso.com --timeout 3600
#[derive(Debug, Clone, Args, Default)]
#[command(verbatim_doc_comment)]
#[command(group(clap::ArgGroup::new("which").required(true).args(["id", "customer"])))]
pub struct GdapWaitArgs {
    /// The relationship's id
    #[arg(value_name = "ID")]
    pub id: Option<String>,

    /// The customer whose pending relationships to wait for
    #[arg(long, value_name = "CLIENT|TENANT|DOMAIN")]
    pub customer: Option<String>,

    /// Give up after this many seconds
    #[arg(long, value_name = "SECS", default_value_t = 900, value_parser = clap::value_parser!(u64).range(1..=86_400))]
    pub timeout: u64,
}

/// Give each role of active relationships to its partner security group
///
/// For each active relationship: every role it holds is put in an active access assignment to
/// the group its template names (one group per role). Groups are found by name or id in the
/// partner tenant; --create-groups creates missing ones (security groups, not mail-enabled).
/// --add-member makes sure a user (`me`, or a UPN) is in them. Roles already assigned are left
/// alone. Groups Microsoft reserves (AdminAgents, HelpdeskAgents, SalesAgents) are refused.
///
/// Examples:
///   csp gdap assign --customer contoso.com --create-groups --add-member me
///   csp gdap assign --all --template standard
///   csp gdap assign --relationship 5d2b0a8e-… -o json
#[derive(Debug, Clone, Args, Default)]
#[command(verbatim_doc_comment)]
#[command(group(clap::ArgGroup::new("targets").required(true).args(["customer", "all", "relationship"])))]
pub struct GdapAssignArgs {
    /// A customer's active relationships: a mapped client, a tenant id or a domain
    #[arg(long, value_name = "CLIENT|TENANT|DOMAIN")]
    pub customer: Option<String>,

    /// Every active relationship
    #[arg(long)]
    pub all: bool,

    /// One relationship, by id
    #[arg(long, value_name = "ID")]
    pub relationship: Option<String>,

    /// The template whose groups to use [default: the template with exactly the
    /// relationship's roles, else one group per role named "GDAP <role>"]
    #[arg(long, value_name = "NAME")]
    pub template: Option<String>,

    /// Create the security groups that do not exist yet
    #[arg(long)]
    pub create_groups: bool,

    /// Make sure this user is in the groups: `me` or a user principal name
    #[arg(long, value_name = "me|UPN")]
    pub add_member: Option<String>,

    /// Relationships worked on at once
    #[arg(long, value_name = "N", default_value_t = 8, value_parser = clap::value_parser!(u16).range(1..=64))]
    pub jobs: u16,

    /// How long to wait for new assignments to become active
    #[arg(long, value_name = "SECS", default_value_t = 60, value_parser = clap::value_parser!(u64).range(0..=3600))]
    pub wait: u64,
}

/// Keep relationships that end soon alive
///
/// For each active relationship ending within --expiring days: turns auto-extend on where its
/// roles allow it; otherwise (Global Administrator) requests a new relationship with the same
/// roles and prints its approval link (-o csv suits a mail merge). Asks first on a terminal;
/// elsewhere needs --yes.
///
/// Examples:
///   csp gdap renew
///   csp gdap renew --expiring 60 --yes -o csv > approval-links.csv
#[derive(Debug, Clone, Args, Default)]
#[command(verbatim_doc_comment)]
pub struct GdapRenewArgs {
    /// Relationships that end within this many days
    #[arg(long, value_name = "DAYS", default_value_t = 30, value_parser = clap::value_parser!(u32).range(0..=3650))]
    pub expiring: u32,

    /// Do not ask; needed without a terminal
    #[arg(long, short)]
    pub yes: bool,

    /// Relationships worked on at once
    #[arg(long, value_name = "N", default_value_t = 8, value_parser = clap::value_parser!(u16).range(1..=64))]
    pub jobs: u16,
}

/// End a GDAP relationship
///
/// Asks for confirmation on a terminal; without a terminal --yes is required. A relationship
/// not yet locked for approval is deleted; any other is terminated (the customer loses the
/// partner's access through it at once).
///
/// Examples:
///   csp gdap terminate 5d2b0a8e-…
///   csp gdap terminate 5d2b0a8e-… --yes
#[derive(Debug, Clone, Args, Default)]
#[command(verbatim_doc_comment)]
pub struct GdapTerminateArgs {
    /// The relationship's id
    #[arg(value_name = "ID")]
    pub id: String,

    /// Do not ask; needed without a terminal
    #[arg(long, short)]
    pub yes: bool,
}

/// Check every mapped customer: GDAP, the app's service principal, and its granted scopes
///
/// Read-only. For each customer: is there an active GDAP relationship with a role that can
/// consent, is that role in an active access assignment (and the signed-in user in its group),
/// when does the relationship end, does the app's service principal exist in the tenant, and
/// do its delegated scopes match the consent manifest (missing, extra). Prints the `csp
/// consent` command that would repair each repairable customer. Exits 0 when all are in order,
/// 5 when any needs attention.
///
/// Examples:
///   csp audit
///   csp audit --customer Contoso -o json
#[derive(Debug, Clone, Args, Default)]
#[command(verbatim_doc_comment)]
pub struct AuditArgs {
    /// Only these mapped clients (repeatable) [default: every mapped client]
    #[arg(long, value_name = "CLIENT")]
    pub customer: Vec<String>,

    /// The CPV application [default: the consent manifest's, else the sign-in app]
    #[arg(long, value_name = "APP_ID")]
    pub app_id: Option<String>,

    /// The manifest to compare with, as for `csp consent` (repeatable; replaces the config's)
    #[arg(long, value_name = "RESOURCE=SCOPES")]
    pub grant: Vec<String>,

    /// Customers checked at once
    #[arg(long, value_name = "N", default_value_t = 8, value_parser = clap::value_parser!(u16).range(1..=64))]
    pub jobs: u16,
}

/// Check the local set-up and the partner tenant, one line per check
///
/// Checks: config.toml and mappings.json parse; the token store works; the sign-in redeems;
/// the token carries the MFA claim; Partner Center answers; the app allows public client flows;
/// the app has a service principal and admin consent in the partner tenant. Each failed check
/// says what to do. Exits 0 when every check passes, 5 otherwise.
///
/// Examples:
///   csp doctor
///   csp doctor -o json
#[derive(Debug, Clone, Args, Default)]
#[command(verbatim_doc_comment)]
pub struct DoctorArgs {}

/// Run the whole onboarding story on the built-in simulator, in seconds
///
/// Signs in (the sandbox approves the code by itself), lists customers, maps two clients by
/// domain, suggests and imports the rest, consents the app everywhere, audits, and repairs a
/// drifted customer, through the real commands and output. Uses a fresh sandbox in a temporary
/// directory: your own sign-in, config and mappings are not touched.
///
/// Examples:
///   csp demo
///   csp demo --step
#[derive(Debug, Clone, Args, Default)]
#[command(verbatim_doc_comment)]
pub struct DemoArgs {
    /// Pause before each step (press Enter to go on)
    #[arg(long)]
    pub step: bool,
}

/// Create or repair the partner's own app registration, ready for `csp authorize`
///
/// Signs you in (device code) with Microsoft's own public client for Graph administration,
/// then, in the partner tenant: finds the app by name (or --client-id) or creates it
/// (multi-tenant, a localhost redirect for `authorize --browser`, Partner Center
/// user_impersonation, Graph DelegatedAdminRelationship.Read.All and the Graph scopes your
/// consent manifest names, and with --gdap the Graph scopes `csp gdap` needs to change
/// relationships); makes sure it and "Microsoft Partner Center" have service
/// principals; grants admin consent; and, with --with-secret, adds a client secret. A second
/// run changes nothing. An existing app that differs is changed only with --update, after the
/// differences are listed. Needs Application Administrator, Cloud Application Administrator
/// or Global Administrator in the partner tenant.
///
/// Examples:
///   csp setup
///   csp setup --name "Contoso CSP automation" --tenant contoso.onmicrosoft.com
///   csp setup --update
///   csp setup --gdap --update
///   csp setup --with-secret --insecure-storage
#[derive(Debug, Clone, Args, Default)]
#[command(verbatim_doc_comment)]
pub struct SetupArgs {
    /// The app registration's display name
    #[arg(long, value_name = "NAME", default_value = "csp")]
    pub name: String,

    /// The partner tenant (id or domain) [default: the profile's, else `organizations`]
    #[arg(long, value_name = "TENANT")]
    pub tenant: Option<String>,

    /// An existing app registration to use (its application id) instead of finding it by name
    #[arg(long, value_name = "APP_ID")]
    pub client_id: Option<String>,

    /// Change an existing app that differs from what csp needs
    #[arg(long)]
    pub update: bool,

    /// Make the app a confidential client and add a client secret, stored with the sign-in
    #[arg(long)]
    pub with_secret: bool,

    /// Keep the secret in <config-dir>/credentials.json (mode 0600) instead of the OS keyring
    #[arg(long)]
    pub insecure_storage: bool,

    /// Also let the app change GDAP relationships for `csp gdap`: DelegatedAdminRelationship.
    /// ReadWrite.All, Group.Create, GroupMember.ReadWrite.All and User.ReadBasic.All (Graph,
    /// delegated). Without it, the app only reads relationships.
    #[arg(long)]
    pub gdap: bool,

    /// The public client to sign in with for the set-up
    #[arg(
        long,
        value_name = "APP_ID",
        default_value = "14d82eec-204b-4c2f-b7e8-296a70dab67e"
    )]
    pub bootstrap_client_id: String,
}

/// Print a shell completion script
///
/// Examples:
///   csp completions bash > ~/.local/share/bash-completion/completions/csp
///   csp completions zsh > "${fpath[1]}/_csp"
///   csp completions fish > ~/.config/fish/completions/csp.fish
///   csp completions powershell >> $PROFILE
#[derive(Debug, Clone, Args)]
#[command(verbatim_doc_comment)]
pub struct CompletionsArgs {
    /// The shell
    #[arg(value_enum)]
    pub shell: clap_complete::Shell,
}

/// Print the manual page (roff), or write one page per command into a directory
///
/// Without --dir, prints the page of `csp` itself. With --dir, writes csp.1 and a page for
/// every subcommand, nested ones included (csp-authorize.1, csp-map-import.1, ...), into DIR,
/// creating it if needed, and lists the files written.
///
/// Examples:
///   csp man > /usr/local/share/man/man1/csp.1
///   csp man | man -l -
///   csp man --dir ~/.local/share/man/man1 && man csp-consent
#[derive(Debug, Clone, Args, Default)]
#[command(verbatim_doc_comment)]
pub struct ManArgs {
    /// Write one page per command into DIR instead of printing the page of `csp`
    #[arg(long, value_name = "DIR")]
    pub dir: Option<PathBuf>,
}

/// What csp's exit codes mean
#[derive(Debug, Clone, Args, Default)]
#[command(long_about = format!("What csp's exit codes mean\n\n{}", ExitCode::table_text()))]
pub struct ExitCodesArgs {}
