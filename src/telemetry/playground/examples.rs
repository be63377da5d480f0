//! The playground's example requests: the README's own grpcurl examples
//! (which `tests/readme.rs` runs against a real server), read from the
//! README embedded in the binary, so there is one copy of each.

/// The README, whose `grpcurl -d '{...}' ADDRESS METHOD` commands are the
/// examples.
const README: &str = include_str!("../../../README.md");

/// One example request.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Example {
    /// The first comment line above the command, without `# ` or a
    /// closing colon.
    pub title: String,
    /// The gRPC method (`tollgate.v1.DecisionService/DecidePlanChange`).
    pub method: String,
    /// The request in proto JSON, as the README writes it.
    pub body: String,
    /// The command's `accept-language` header, if it sends one.
    pub accept_language: Option<String>,
}

/// Every README grpcurl command that sends a body (`-d '...'`), in order.
pub fn from_readme() -> Vec<Example> {
    parse(README)
}

fn parse(text: &str) -> Vec<Example> {
    let mut examples = Vec::new();
    let mut comments: Vec<&str> = Vec::new();
    let mut lines = text.lines();
    while let Some(line) = lines.next() {
        if let Some(comment) = line.strip_prefix('#') {
            comments.push(comment.trim());
            continue;
        }
        let title = comments
            .iter()
            .find(|c| !c.starts_with('→') && !c.is_empty())
            .map(|c| c.trim_end_matches(':').to_owned());
        comments.clear();
        let Some((before, after)) = line
            .strip_prefix("grpcurl ")
            .and_then(|rest| rest.split_once("-d '"))
        else {
            continue;
        };
        // The body runs to the next `'`: JSON in a shell single quote has none.
        let mut command = after.to_owned();
        while !command.contains('\'') {
            let Some(next) = lines.next() else { break };
            command.push('\n');
            command.push_str(next);
        }
        let Some((body, rest)) = command.split_once('\'') else {
            continue;
        };
        let mut rest = rest.trim().to_owned();
        // A command continued on the next line with a backslash.
        while let Some(head) = rest.strip_suffix('\\') {
            rest = format!("{head} {}", lines.next().unwrap_or_default().trim());
        }
        let Some(method) = rest.split_whitespace().last() else {
            continue;
        };
        let accept_language = before
            .split_once("-H 'accept-language: ")
            .and_then(|(_, h)| h.split_once('\''))
            .map(|(value, _)| value.to_owned());
        examples.push(Example {
            title: title.unwrap_or_else(|| method.to_owned()),
            method: method.to_owned(),
            body: body.to_owned(),
            accept_language,
        });
    }
    examples
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_a_multi_line_command_its_title_and_header() {
        let text = "# A title\n# → `what it prints`\ngrpcurl -plaintext -H 'accept-language: ja' -d '{\n  \"a\": 1\n}' localhost:50051 tollgate.v1.DecisionService/DecideX\n";
        assert_eq!(
            parse(text),
            vec![Example {
                title: "A title".to_owned(),
                method: "tollgate.v1.DecisionService/DecideX".to_owned(),
                body: "{\n  \"a\": 1\n}".to_owned(),
                accept_language: Some("ja".to_owned()),
            }]
        );
    }

    #[test]
    fn a_body_continued_with_a_backslash_and_commands_without_a_body() {
        let text = "grpcurl -plaintext localhost:50051 list\n# x\ngrpcurl -plaintext -d '{\"b\": 2}' \\\n  localhost:50051 svc/M\n";
        let found = parse(text);
        assert_eq!(found.len(), 1, "{found:?}");
        assert_eq!(found.first().map(|e| e.method.as_str()), Some("svc/M"));
    }

    #[test]
    fn the_readme_has_valid_json_examples_of_every_decision_type() {
        let found = from_readme();
        for method in [
            "DecidePlanChange",
            "DecidePaymentLink",
            "DecideChargeFunding",
        ] {
            let method = format!("tollgate.v1.DecisionService/{method}");
            assert!(
                found.iter().any(|e| e.method == method),
                "no README example of {method}: {found:?}"
            );
        }
        for e in &found {
            assert!(
                serde_json::from_str::<serde_json::Value>(&e.body).is_ok(),
                "{e:?}"
            );
        }
    }
}
