//! `tokenprobe init`: a commented target file from a discovery document or a
//! token endpoint: endpoints, issuer, JWKS, the auth methods and grants the
//! server advertises, secrets as `${env:…}` placeholders, the behaviour
//! block with the documented defaults and a comment per key saying how to
//! find the right value. The file is validated before it is written.

use crate::exit;
use crate::oauth::http::{self, HttpOptions};
use crate::target::Target;
use crate::wire::Discovery;
use crate::yaml::Source;
use std::path::PathBuf;

#[derive(clap::Args, Debug)]
pub struct InitArgs {
    /// The server's OpenID / RFC 8414 discovery document (URL).
    #[arg(
        long,
        conflicts_with = "token_endpoint",
        required_unless_present = "token_endpoint"
    )]
    pub discovery: Option<String>,
    /// The token endpoint (URL), when the server publishes no discovery document.
    #[arg(long)]
    pub token_endpoint: Option<String>,
    /// Where to write the target file.
    #[arg(long, short, default_value = "target.yaml")]
    pub output: PathBuf,
    /// Overwrite the output file if it exists.
    #[arg(long)]
    pub force: bool,
    /// Accept any TLS certificate when reading the discovery document.
    #[arg(short = 'k', long)]
    pub insecure: bool,
}

/// YAML for a string: quoted when it needs to be.
fn q(s: &str) -> String {
    serde_json::to_string(s).unwrap_or_default()
}

pub fn init(args: InitArgs) -> i32 {
    if args.output.exists() && !args.force {
        eprintln!(
            "error: {} exists; --force overwrites it",
            args.output.display()
        );
        return exit::INVALID_INPUT;
    }
    let doc = match &args.discovery {
        Some(url) => match fetch(url, args.insecure) {
            Ok(d) => Some(d),
            Err(e) => {
                eprintln!("error: discovery {url}: {e}");
                return exit::TARGET_UNREACHABLE;
            }
        },
        None => None,
    };
    let mut text = render(
        args.discovery.as_deref(),
        args.token_endpoint.as_deref(),
        doc.as_ref(),
    );
    if args.insecure {
        // What let init read the document lets the runs read it too.
        text.push_str(
            "tls: { insecure: true }   # init ran with -k: the server's certificate is not checked (CHECK: give tls.ca_file instead)\n",
        );
    }
    // Validated as the user will load it, with placeholders for the
    // variables they have not set yet.
    let source = match Source::from_str(&args.output, &text) {
        Ok(s) => s,
        Err(d) => {
            eprintln!("internal error: the generated file does not read back: {d}");
            return exit::INTERNAL;
        }
    };
    if let Err(d) = Target::from_source(&source, &|name| {
        std::env::var(name)
            .ok()
            .or(Some(format!("placeholder-{name}")))
    }) {
        eprintln!("internal error: the generated file is not valid: {d}");
        return exit::INTERNAL;
    }
    // With the credentials at hand, one login and one refresh say what
    // the behaviour block should: it is written as seen.
    if let Ok(mut target) = Target::from_source(&source, &|name| std::env::var(name).ok()) {
        match observe(&mut target) {
            Ok(seen) => text = write_seen(&text, &seen),
            Err(why) => {
                eprintln!("note: the behaviour block was not probed ({why}); check it by hand")
            }
        }
    }
    if let Err(e) = crate::report::write_atomically(&args.output, text.as_bytes()) {
        eprintln!("error: {}: {e}", args.output.display());
        return exit::INTERNAL;
    }
    println!(
        "wrote {}: set TOKENPROBE_CLIENT_ID, TOKENPROBE_CLIENT_SECRET, TOKENPROBE_USERNAME and TOKENPROBE_PASSWORD, check the behaviour block, then run `tokenprobe check --target {}`",
        args.output.display(),
        args.output.display()
    );
    exit::OK
}

/// One login and one refresh with the target's credentials: what they show.
fn observe(target: &mut Target) -> Result<crate::check::preflight::Seen, String> {
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .map_err(|e| e.to_string())?;
    let http = target.http_options(false, None);
    let redactor = target.redactor();
    rt.block_on(async {
        let client = http::build_client(&http, 2).map_err(|e| e.to_string())?;
        crate::target::discover(target, &client, &http)
            .await
            .map_err(|e| redactor.redact(&e.to_string()))?;
        let p = crate::check::preflight::observe(target, &client, &http, &redactor)
            .await
            .map_err(|e| redactor.redact(&e.to_string()))?;
        p.map(|p| p.seen)
            .ok_or_else(|| "the target has no primary client or user".to_string())
    })
}

/// `text` with the behaviour the server showed written in, each line
/// saying so.
fn write_seen(text: &str, seen: &crate::check::preflight::Seen) -> String {
    let mut out = String::new();
    for line in text.lines() {
        let replaced = match (line.trim_start(), seen.rotation, seen.id_token_on_refresh) {
            (l, Some(r), _) if l.starts_with("rotation:") => Some(format!(
                "  rotation: {}                # seen by init: one refresh answered with {}",
                match r {
                    crate::wire::Rotation::Rotate => "rotate",
                    crate::wire::Rotation::Static => "static",
                    crate::wire::Rotation::Omit => "omit",
                },
                match r {
                    crate::wire::Rotation::Rotate => "a new refresh token",
                    crate::wire::Rotation::Static => "the same refresh token",
                    crate::wire::Rotation::Omit => "no refresh_token",
                }
            )),
            (l, _, Some(i)) if l.starts_with("id_token_on_refresh:") => Some(format!(
                "  id_token_on_refresh: {i}  # seen by init: the refresh answer {} an id_token",
                if i { "carried" } else { "carried no" }
            )),
            _ => None,
        };
        out.push_str(replaced.as_deref().unwrap_or(line));
        out.push('\n');
    }
    out
}

fn fetch(url: &str, insecure: bool) -> Result<Discovery, String> {
    let url = url::Url::parse(url).map_err(|e| e.to_string())?;
    let opts = HttpOptions {
        insecure,
        ..HttpOptions::default()
    };
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .map_err(|e| e.to_string())?;
    rt.block_on(async {
        let client = http::build_client(&opts, 1).map_err(|e| e.to_string())?;
        let r = http::send(client.get(url), opts.request_timeout)
            .await
            .map_err(|e| e.to_string())?;
        r.json()
            .filter(|_| (200..300).contains(&r.status))
            .and_then(|j| serde_json::from_value(j).ok())
            .ok_or_else(|| format!("HTTP {}: not a discovery document", r.status))
    })
}

/// The target file's text.
fn render(
    discovery: Option<&str>,
    token_endpoint: Option<&str>,
    doc: Option<&Discovery>,
) -> String {
    let mut out = String::from(
        "# A tokenprobe target file, written by `tokenprobe init`. Check every\n\
         # value marked CHECK, set the environment variables, then run:\n\
         #   tokenprobe validate --target THIS_FILE && tokenprobe check --target THIS_FILE\n",
    );
    let host = doc
        .map(|d| d.token_endpoint.as_str())
        .or(token_endpoint)
        .and_then(|u| url::Url::parse(u).ok())
        .and_then(|u| u.host_str().map(str::to_string))
        .unwrap_or_else(|| "my identity server".into());
    out.push_str(&format!("name: {}\n", q(&host)));
    match doc {
        Some(d) => {
            out.push_str(&format!(
                "discovery: {}\n",
                q(discovery.unwrap_or_default())
            ));
            out.push_str("# Read from the discovery document:\n");
            out.push_str(&format!("token_endpoint: {}\n", q(&d.token_endpoint)));
            for (key, v) in [
                ("revocation_endpoint", &d.revocation_endpoint),
                ("introspection_endpoint", &d.introspection_endpoint),
                ("jwks_uri", &d.jwks_uri),
                ("issuer", &d.issuer),
            ] {
                if let Some(v) = v {
                    out.push_str(&format!("{key}: {}\n", q(v)));
                }
            }
        }
        None => {
            out.push_str(&format!(
                "token_endpoint: {}\n",
                q(token_endpoint.unwrap_or_default())
            ));
            out.push_str(
                "# revocation_endpoint, introspection_endpoint, jwks_uri, issuer: add them if the\n\
                 # server has them (the checks that need them are skipped otherwise).\n",
            );
        }
    }
    let methods: &[String] = doc.map_or(&[], |d| &d.token_endpoint_auth_methods_supported);
    let auth = ["client_secret_basic", "client_secret_post"]
        .into_iter()
        .find(|m| methods.is_empty() || methods.iter().any(|x| x == m))
        .unwrap_or("client_secret_basic");
    if !methods.is_empty() {
        out.push_str(&format!(
            "# token_endpoint_auth_methods_supported: {}\n",
            methods.join(", ")
        ));
    }
    // Without discovery nothing is known: the password grant, as the
    // file's default. A document without grant_types_supported means RFC
    // 8414 §2's default, the code flow and implicit.
    let grants: Vec<&str> = doc.map_or(vec!["password"], |d| d.grant_types());
    match doc.map(|d| &d.grant_types_supported) {
        Some(Some(_)) => out.push_str(&format!("# grant_types_supported: {}\n", grants.join(", "))),
        Some(None) => out.push_str(
            "# grant_types_supported is absent: RFC 8414 §2's default, authorization_code and implicit\n",
        ),
        None => {}
    }
    // Without the password grant, sessions start with the code flow when
    // the server offers it (RFC 9700 §2.4: the password grant MUST NOT be
    // used; most servers switch it off).
    let password_offered = grants.contains(&"password");
    let code_flow = !password_offered
        && grants.contains(&crate::wire::grant::AUTHORIZATION_CODE)
        && doc.is_some_and(|d| d.authorization_endpoint.is_some());
    let login_grants = if code_flow {
        "authorization_code"
    } else {
        "password"
    };
    out.push_str(&format!(
        "clients:\n  # CHECK: a confidential client allowed the {login_grants} and refresh_token grants.\n  # Add `secondary` (another client) to enable the binding checks.\n  primary: {{ id: \"${{env:TOKENPROBE_CLIENT_ID}}\", secret: \"${{env:TOKENPROBE_CLIENT_SECRET}}\", auth: {auth} }}\n"
    ));
    out.push_str(
        "users:\n  # CHECK: a test user (never a real person's account: some checks send wrong passwords).\n  primary: { username: \"${env:TOKENPROBE_USERNAME}\", password: \"${env:TOKENPROBE_PASSWORD}\" }\n",
    );
    // The scope a login asks for: what discovery offers of openid and
    // offline_access (refresh tokens on OpenID providers). Nothing at all
    // asks for the server's default: the scope checks compare with what
    // the server grants, never with this declaration.
    let supported: &[String] = doc.map_or(&[], |d| &d.scopes_supported);
    let scope: Vec<&str> = ["openid", "offline_access"]
        .into_iter()
        .filter(|s| supported.iter().any(|x| x == s))
        .collect();
    let scope_line = if scope.is_empty() {
        "  # scope: \"openid offline_access\"   # CHECK: the scope a login asks for; without one the server grants its default\n".to_string()
    } else {
        format!(
            "  scope: {}   # CHECK: the scope a login asks for (IDCS needs offline_access for refresh tokens)\n",
            q(&scope.join(" "))
        )
    };
    if code_flow {
        out.push_str(&format!(
            "login:\n  grant: authorization_code   # discovery does not list the password grant: sessions start at the server's login page\n  redirect_uri: http://127.0.0.1:9/callback   # CHECK: register it with the client; nothing needs to listen there\n{scope_line}  # params: {{ prompt: consent }}   # some servers issue refresh tokens (offline_access) only after consent\n  # form: {{ username_field: …, password_field: … }}   # when the login page's fields are not found\n"
        ));
    }
    out.push_str(&format!(
        "password_grant:\n  user_credentials: form     # basic_header when the user goes in Authorization: Basic (EmpowerID)\n{}{}",
        if code_flow { "" } else { scope_line.as_str() },
        if password_offered {
            String::new()
        } else {
            "  enabled: false   # discovery does not list the password grant\n".to_string()
        }
    ));
    out.push_str(
        "# scopes: { narrow: …, extra: … }   # a proper subset of the scope above, and a scope that exists but is not granted\n\
         behaviour:\n\
        \x20 rotation: rotate            # CHECK: rotate | static | omit: does a refresh return a new refresh token, and does the old one die?\n\
        \x20 grace_period_s: 0           # CHECK: how long a rotated refresh token still works (0: none)\n\
        \x20 reuse_detection: none       # CHECK: family when replaying a rotated token revokes its successors (RFC 9700)\n\
        \x20 # access_token_ttl_s: 3600  # CHECK: the expires_in of a login, as configured\n\
        \x20 # refresh_token_ttl_s: 86400   # the refresh-token lifetime: declare a short one on a test client to run the expiry checks\n\
        \x20 refresh_expiry: sliding     # CHECK: sliding (a successor gets a new lifetime) | absolute\n\
        \x20 id_token_on_refresh: false  # CHECK: true when a refresh returns an id_token\n\
         # introspection: { refresh_tokens: true }   # when the introspection endpoint answers for refresh tokens\n\
         timing: { request_timeout_s: 10, connect_timeout_s: 5, max_wait_s: 30 }\n",
    );
    out
}
