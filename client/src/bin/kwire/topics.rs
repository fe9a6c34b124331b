//! `kwire topics`: create, delete, list and describe topics through the
//! admin layer. One line (or JSON object) per topic; a topic that failed
//! says why (error name, code, the broker's message escaped), and the
//! command then exits with `exit::ITEMS_FAILED`.

use std::sync::Arc;
use std::time::Duration;

use clap::{Args, Subcommand};
use kwire_client::admin::{Admin, AdminError, ItemError, NewTopic};
use kwire_client::escape;
use kwire_client::{Cluster, ClusterConfig};
use serde_json::{json, Value};

use crate::connect::ConnectArgs;
use crate::exit::{self, Failure};
use crate::out;

#[derive(Args)]
pub struct TopicsArgs {
    #[command(flatten)]
    pub connect: ConnectArgs,
    /// Print JSON instead of text.
    #[arg(long, global = true)]
    pub json: bool,
    #[command(subcommand)]
    pub cmd: TopicsCmd,
}

#[derive(Subcommand)]
pub enum TopicsCmd {
    /// Create topics (CreateTopics at the controller).
    Create {
        /// Topic names.
        #[arg(required = true)]
        names: Vec<String>,
        /// Partitions per topic (default: the broker's num.partitions).
        #[arg(long, short = 'p')]
        partitions: Option<i32>,
        /// Replication factor (default: the broker's default.replication.factor).
        #[arg(long, short = 'r')]
        replication_factor: Option<i16>,
        /// A topic config KEY=VALUE, repeatable.
        #[arg(long = "config", short = 'c', value_name = "KEY=VALUE")]
        configs: Vec<String>,
        /// Ask the broker to check only; nothing is created.
        #[arg(long)]
        validate_only: bool,
    },
    /// Delete topics (DeleteTopics at the controller).
    Delete {
        #[arg(required = true)]
        names: Vec<String>,
    },
    /// List topics (Metadata for all topics).
    List {
        /// Include internal topics (__consumer_offsets, ...).
        #[arg(long)]
        internal: bool,
    },
    /// Describe topics: id, partitions, leaders, replicas, ISR.
    Describe {
        #[arg(required = true)]
        names: Vec<String>,
    },
}

/// One topic: its text and JSON report, or why it failed.
type Row = (String, Result<(String, Value), ItemError>);

fn admin_failure(e: AdminError) -> Failure {
    Failure {
        code: exit::code(e.kind()),
        message: e.to_string(),
    }
}

fn item_json(e: &ItemError) -> Value {
    json!({"error": e.name(), "code": e.code.0, "message": e.message})
}

pub async fn run(a: TopicsArgs) -> Result<(), Failure> {
    let (brokers, client) = a.connect.config().map_err(Failure::usage)?;
    let timeout = client.conn.request_timeout;
    let mut cc = ClusterConfig::with_client(client);
    cc.timeout = timeout.max(Duration::from_secs(1));
    let cluster = Cluster::connect(&brokers, cc).await.map_err(|e| Failure {
        code: exit::code(e.kind()),
        message: e.to_string(),
    })?;
    let admin = Admin::new(Arc::new(cluster));
    let res = command(&admin, a.cmd, a.json, timeout).await;
    admin.cluster().shutdown().await;
    res
}

async fn command(
    admin: &Admin,
    cmd: TopicsCmd,
    json_out: bool,
    timeout: Duration,
) -> Result<(), Failure> {
    let mut rows: Vec<Row> = Vec::new();
    match cmd {
        TopicsCmd::Create {
            names,
            partitions,
            replication_factor,
            configs,
            validate_only,
        } => {
            let mut pairs = Vec::new();
            for c in &configs {
                let (k, v) = c
                    .split_once('=')
                    .ok_or_else(|| Failure::usage(format!("--config {c:?}: expected KEY=VALUE")))?;
                pairs.push((k.to_string(), v.to_string()));
            }
            let topics: Vec<NewTopic> = names
                .iter()
                .map(|n| NewTopic {
                    name: n.clone(),
                    partitions,
                    replication_factor,
                    configs: pairs.clone(),
                })
                .collect();
            let verb = if validate_only { "valid" } else { "created" };
            for r in admin
                .create_topics(&topics, validate_only, timeout)
                .await
                .map_err(admin_failure)?
            {
                rows.push((
                    r.name,
                    r.result.map(|c| {
                        let id = c.topic_id.map(|u| u.to_string());
                        (
                            format!(
                                "{verb} (partitions {}, replication factor {}{})",
                                c.partitions,
                                c.replication_factor,
                                id.as_ref().map(|i| format!(", id {i}")).unwrap_or_default()
                            ),
                            json!({"status": verb, "partitions": c.partitions,
                                   "replication_factor": c.replication_factor, "topic_id": id}),
                        )
                    }),
                ));
            }
        }
        TopicsCmd::Delete { names } => {
            for r in admin
                .delete_topics(&names, timeout)
                .await
                .map_err(admin_failure)?
            {
                rows.push((
                    r.name,
                    r.result
                        .map(|_| ("deleted".to_string(), json!({"status": "deleted"}))),
                ));
            }
        }
        TopicsCmd::List { internal } => {
            for t in admin.list_topics(internal).await.map_err(admin_failure)? {
                let n = t.partitions.len();
                rows.push((
                    t.name.clone(),
                    Ok((
                        format!(
                            "{n} partition(s){}",
                            if t.internal { ", internal" } else { "" }
                        ),
                        json!({"partitions": n, "internal": t.internal,
                               "topic_id": t.id.map(|u| u.to_string())}),
                    )),
                ));
            }
        }
        TopicsCmd::Describe { names } => {
            for r in admin.describe_topics(&names).await.map_err(admin_failure)? {
                rows.push((
                    r.name,
                    r.result.map(|d| {
                        let mut text = format!(
                            "id {}, {} partition(s){}",
                            d.id.map_or_else(|| "-".to_string(), |u| u.to_string()),
                            d.partitions.len(),
                            if d.internal { ", internal" } else { "" }
                        );
                        let mut parts = Vec::new();
                        for (i, p) in &d.partitions {
                            let leader = p.leader.map_or_else(|| "none".into(), |l| l.to_string());
                            text.push_str(&format!(
                                "\n  partition {i}: leader {leader}, replicas {:?}, isr {:?}",
                                p.replicas, p.isr
                            ));
                            parts.push(json!({"partition": i, "leader": p.leader,
                                              "leader_epoch": p.leader_epoch,
                                              "replicas": p.replicas, "isr": p.isr}));
                        }
                        (
                            text,
                            json!({"topic_id": d.id.map(|u| u.to_string()),
                                   "internal": d.internal, "partitions": parts}),
                        )
                    }),
                ));
            }
        }
    }
    let failed = rows.iter().filter(|(_, r)| r.is_err()).count();
    if json_out {
        let items: Vec<Value> = rows
            .iter()
            .map(|(name, r)| {
                let mut v = match r {
                    Ok((_, v)) => v.clone(),
                    Err(e) => item_json(e),
                };
                v["topic"] = json!(name);
                v
            })
            .collect();
        out::println(&format!("{:#}", json!({"topics": items, "failed": failed})))?;
    } else {
        let mut text = String::new();
        for (name, r) in &rows {
            let name = escape::name(name);
            match r {
                Ok((t, _)) => text.push_str(&format!("{name}: {t}\n")),
                Err(e) => text.push_str(&format!("{name}: FAILED {e}\n")),
            }
        }
        out::print(&text)?;
    }
    if failed > 0 {
        return Err(Failure {
            code: exit::ITEMS_FAILED,
            message: format!("{failed} of {} topic(s) failed", rows.len()),
        });
    }
    Ok(())
}
