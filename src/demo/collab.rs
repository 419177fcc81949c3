//! The demo's collaboration loop: the simulator's collaboration scripts (`sim::collab`) run over
//! HTTPS, each call made by the unit the script names (the sender sends and closes, the
//! receiver answers, the sender's superior approves or refuses) with that unit's own client
//! certificate; then everything is read back and compared with the scripts' truth: each item
//! as its sender, the figures as an operator, and each sender's own feed of signed events.

use super::DemoError;
use super::client::get_json;
use super::report::CollabFigures;
use crate::domain::unit::UnitCode;
use crate::sim::collab::CollabScript;
use serde_json::Value;
use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::path::Path;

/// How many failures and mismatches the summary lists by name (all are counted).
const EXAMPLES: usize = 10;

/// A client per unit, each with its own certificate (issued on first use).
struct Clients<'a> {
    pki: &'a Path,
    certs: &'a Path,
    by_unit: HashMap<String, reqwest::Client>,
}

impl Clients<'_> {
    fn of(&mut self, unit: &UnitCode) -> Result<reqwest::Client, DemoError> {
        if let Some(c) = self.by_unit.get(unit.as_str()) {
            return Ok(c.clone());
        }
        let c = crate::demo::replay::client_for(self.pki, self.certs, unit)?;
        self.by_unit.insert(unit.to_string(), c.clone());
        Ok(c)
    }
}

/// POSTs `body`; answers the HTTP status and the JSON answer (`Null` when not JSON).
async fn post(
    client: &reqwest::Client,
    url: &str,
    body: &Value,
) -> Result<(u16, Value), DemoError> {
    let resp = client
        .post(url)
        .json(body)
        .send()
        .await
        .map_err(|e| DemoError::Api(format!("POST {url}: {e}")))?;
    let status = resp.status().as_u16();
    let text = resp
        .text()
        .await
        .map_err(|e| DemoError::Api(format!("POST {url}: {e}")))?;
    Ok((status, serde_json::from_str(&text).unwrap_or(Value::Null)))
}

fn note(list: &mut Vec<String>, text: String) {
    if list.len() < EXAMPLES {
        list.push(text);
    }
}

/// What the answer says went wrong: its problem code, or the status alone.
fn refusal(status: u16, body: &Value) -> String {
    match body.get("code").and_then(Value::as_str) {
        Some(code) => format!("HTTP {status} {code}"),
        None => format!("HTTP {status}"),
    }
}

/// Runs every script, then reads back what penex made of them into `f`.
pub(super) async fn run(
    base_url: &str,
    pki: &Path,
    certs: &Path,
    operator: &reqwest::Client,
    scripts: &[CollabScript],
    f: &mut CollabFigures,
) -> Result<(), DemoError> {
    let mut clients = Clients {
        pki,
        certs,
        by_unit: HashMap::new(),
    };
    let mut units = BTreeSet::new();
    f.scripts = scripts.len();
    for s in scripts {
        units.insert(s.sender.to_string());
        units.insert(s.receiver.to_string());
        if let Some(a) = &s.approver {
            units.insert(a.to_string());
            f.cross_level += 1;
        }
        f.steps_scripted += s.steps.len();
        *f.by_kind.entry(s.kind.as_str().to_owned()).or_default() += 1;
        *f.expected_by_status
            .entry(s.expected_status.as_str().to_owned())
            .or_default() += 1;
    }
    f.units = units.len();
    println!(
        "running {} collaboration item(s) between {} units, each call with the certificate of \
         the unit that makes it (sender, receiver, approver)…",
        scripts.len(),
        f.units
    );

    // Send and step, in script order.
    // (script, item id, steps answered 200)
    let mut sent: Vec<(&CollabScript, String, usize)> = Vec::new();
    for s in scripts {
        let sender = clients.of(&s.sender)?;
        let (status, body) = post(
            &sender,
            &format!("{base_url}/v1/collaboration/items"),
            &s.item,
        )
        .await?;
        let id = body.get("id").and_then(Value::as_str).unwrap_or_default();
        if status != 201 || id.is_empty() {
            f.failed_calls += 1;
            note(
                &mut f.failures,
                format!("#{} send by {}: {}", s.n, s.sender, refusal(status, &body)),
            );
            continue;
        }
        f.items_sent += 1;
        let url = format!("{base_url}/v1/collaboration/items/{id}/steps");
        let mut taken = 0;
        for st in &s.steps {
            let client = clients.of(&st.unit)?;
            let (status, body) = post(&client, &url, &st.body).await?;
            if status == 200 {
                taken += 1;
            } else {
                f.failed_calls += 1;
                note(
                    &mut f.failures,
                    format!(
                        "#{} {} by {}: {}",
                        s.n,
                        st.step,
                        st.unit,
                        refusal(status, &body)
                    ),
                );
                // The next steps depend on this one.
                break;
            }
        }
        f.steps_taken += taken;
        sent.push((s, id.to_owned(), taken));
    }

    // Each item as its sender: the status and the timeline (send + every step).
    for (s, id, _) in &sent {
        let sender = clients.of(&s.sender)?;
        let item = get_json(&sender, &format!("{base_url}/v1/collaboration/items/{id}")).await?;
        let status = item
            .get("status")
            .and_then(Value::as_str)
            .unwrap_or_default();
        *f.by_status.entry(status.to_owned()).or_default() += 1;
        let timeline = item
            .get("timeline")
            .and_then(Value::as_array)
            .map_or(0, Vec::len);
        if status != s.expected_status.as_str() || timeline != 1 + s.steps.len() {
            f.mismatches += 1;
            note(
                &mut f.mismatch_examples,
                format!(
                    "#{} {} ({} {}): {status} with {timeline} step(s), expected {} with {}",
                    s.n,
                    id,
                    s.kind,
                    s.outcome,
                    s.expected_status,
                    1 + s.steps.len()
                ),
            );
        }
    }

    // The 成效评估 figures, as an operator reads them.
    let stats = get_json(operator, &format!("{base_url}/v1/stats/collaboration")).await?;
    f.stats_items = stats
        .pointer("/totals/items")
        .and_then(Value::as_u64)
        .unwrap_or(0);
    f.stats_by_status = stats
        .pointer("/totals/by_status")
        .and_then(Value::as_object)
        .map(|m| {
            m.iter()
                .map(|(k, v)| (k.clone(), v.as_u64().unwrap_or(0)))
                .collect()
        })
        .unwrap_or_default();

    // Each sender's own feed: one signed event for the send and for every step taken on its
    // items.
    let mut of_sender: BTreeMap<&UnitCode, Vec<(&str, usize)>> = BTreeMap::new();
    for (s, id, taken) in &sent {
        of_sender
            .entry(&s.sender)
            .or_default()
            .push((id.as_str(), *taken));
    }
    for (unit, items) in of_sender {
        let ids: BTreeSet<&str> = items.iter().map(|(id, _)| *id).collect();
        f.feed_expected += items.iter().map(|(_, taken)| 1 + taken).sum::<usize>();
        let client = clients.of(unit)?;
        f.feed_events += unit_feed(&client, base_url)
            .await?
            .iter()
            .filter(|e| {
                e.get("item_id")
                    .and_then(Value::as_str)
                    .is_some_and(|i| ids.contains(i))
            })
            .count();
    }
    Ok(())
}

/// A unit's whole collaboration feed, in sequence order.
async fn unit_feed(client: &reqwest::Client, base: &str) -> Result<Vec<Value>, DemoError> {
    super::client::walk_feed(client, &format!("{base}/v1/collaboration/events")).await
}
