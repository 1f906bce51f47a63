//! Synthetic Terraform states (format version 4) for tests and `portico bench discovery`: the
//! shapes real states have — several providers, nested modules with instance keys, `count`
//! and `for_each` instances, dependencies between resources, tags and labels, a few data
//! sources and bulky attributes — at any size.

use serde_json::{Value, json};

const TEAMS: &[&str] = &["payments", "platform", "search", "identity", "data", "mobile", "growth"];
const SYSTEMS: &[&str] = &["checkout", "catalog", "accounts", "analytics", "core"];
const ENVS: &[&str] = &["production", "staging"];

/// A realistic state with exactly `resources` managed resource instances (data sources come
/// on top), lineage `synthetic-<resources>` and serial 1.
pub fn synthetic_state(resources: usize) -> String {
    let mut blocks: Vec<Value> = Vec::new();
    let mut left = resources;
    // Addresses of root module blocks already written, for dependencies on earlier resources.
    // Only root ones: Terraform records dependencies without module instance keys, so a
    // dependency on a resource inside a module called with `for_each` means every instance of
    // it, and real configurations rarely reach into other modules like that.
    let mut earlier: Vec<String> = Vec::new();
    let mut i = 0usize;
    while left > 0 {
        let team = TEAMS[i % TEAMS.len()];
        let system = SYSTEMS[i % SYSTEMS.len()];
        let env = ENVS[i % ENVS.len()];
        let deps: Vec<String> = earlier.iter().rev().take(2).cloned().collect();
        let (block, made) = match i % 6 {
            0 => {
                let name = format!("logs_{i}");
                let arn = format!("arn:aws:s3:::acme-{name}");
                let tags = json!({"Name": format!("acme-{name}"), "owner": team, "system": system, "Environment": env});
                let inst = json!({
                    "schema_version": 0,
                    "attributes": aws_attrs(&format!("acme-{name}"), &arn, "eu-west-1", &tags, json!({
                        "bucket": format!("acme-{name}"), "acl": "private", "force_destroy": false,
                        "versioning": [{"enabled": true, "mfa_delete": false}],
                        "server_side_encryption_configuration": [{"rule": [{"apply_server_side_encryption_by_default": [{"sse_algorithm": "aws:kms", "kms_master_key_id": ""}]}]}],
                    })),
                    "sensitive_attributes": [],
                    "private": "eyJzY2hlbWFfdmVyc2lvbiI6IjAifQ==",
                    "dependencies": deps,
                });
                (resource("", "managed", "aws_s3_bucket", &name, "hashicorp/aws", None, vec![inst]), 1)
            }
            1 => {
                let n = left.min(3);
                let module = format!("module.network_{}", i % 10);
                let insts = (0..n)
                    .map(|k| {
                        let id = format!("subnet-{i:08x}{k}");
                        let arn = format!("arn:aws:ec2:eu-west-1:123456789012:subnet/{id}");
                        let tags = json!({"Name": format!("private-{i}-{k}"), "Team": team, "Environment": env});
                        json!({
                            "index_key": k,
                            "schema_version": 1,
                            "attributes": aws_attrs(&id, &arn, "eu-west-1", &tags, json!({
                                "cidr_block": format!("10.{}.{}.0/24", i % 250, k), "availability_zone": format!("eu-west-1{}", ["a", "b", "c"][k % 3]),
                                "map_public_ip_on_launch": false, "vpc_id": format!("vpc-{:08x}", i / 6),
                            })),
                            "dependencies": deps,
                        })
                    })
                    .collect();
                (resource(&module, "managed", "aws_subnet", &format!("private_{i}"), "hashicorp/aws", Some("list"), insts), n)
            }
            2 => {
                let n = left.min(2);
                let service = format!("svc-{i}");
                let insts = ["blue", "green"][..n]
                    .iter()
                    .map(|color| {
                        let id = format!("arn:aws:ecs:eu-west-1:123456789012:service/main/{service}-{color}");
                        let tags = json!({"service": service, "owner": format!("group:{team}"), "system": system});
                        json!({
                            "index_key": color,
                            "schema_version": 0,
                            "attributes": aws_attrs(&id, &id, "eu-west-1", &tags, json!({"desired_count": 3, "launch_type": "FARGATE", "cluster": "main"})),
                            "dependencies": [format!("module.app.aws_security_group.this_{i}")],
                        })
                    })
                    .collect();
                let module = format!("module.app[\"{service}\"]");
                (resource(&module, "managed", "aws_ecs_service", "this", "hashicorp/aws", Some("map"), insts), n)
            }
            3 => {
                let name = format!("assets-{i}");
                let inst = json!({
                    "schema_version": 0,
                    "attributes": {
                        "id": name, "name": name, "location": "EU", "storage_class": "STANDARD",
                        "labels": {"owner": team, "system": system, "env": env},
                        "self_link": format!("https://www.googleapis.com/storage/v1/b/{name}"),
                    },
                    "dependencies": [],
                });
                (resource("", "managed", "google_storage_bucket", &name.replace('-', "_"), "hashicorp/google", None, vec![inst]), 1)
            }
            4 => {
                let name = format!("rg-{i}");
                let id = format!("/subscriptions/00000000-0000-0000-0000-000000000000/resourceGroups/{name}");
                let inst = json!({
                    "schema_version": 0,
                    "attributes": {"id": id, "name": name, "location": "westeurope", "tags": {"team": team, "environment": env}},
                    "dependencies": deps,
                });
                let module = format!("module.region_{}.module.base", i % 4);
                (resource(&module, "managed", "azurerm_resource_group", &format!("rg_{i}"), "hashicorp/azurerm", None, vec![inst]), 1)
            }
            _ => {
                let inst = json!({
                    "schema_version": 0,
                    "attributes": {"id": format!("q{i}w"), "b64_std": format!("q{i}w=="), "byte_length": 4, "hex": format!("{i:08x}"), "keepers": null},
                });
                blocks.push(resource("", "data", "aws_iam_policy_document", &format!("assume_{i}"), "hashicorp/aws", None, vec![json!({
                    "schema_version": 0,
                    "attributes": {"id": format!("{i}"), "json": "{\"Version\":\"2012-10-17\",\"Statement\":[]}"},
                })]));
                (resource("", "managed", "random_id", &format!("suffix_{i}"), "hashicorp/random", None, vec![inst]), 1)
            }
        };
        if block.get("module").is_none() {
            earlier.push(address(&block));
        }
        blocks.push(block);
        left -= made;
        i += 1;
    }
    let state = json!({
        "version": 4,
        "terraform_version": "1.7.5",
        "serial": 1,
        "lineage": format!("synthetic-{resources}"),
        "outputs": {"bucket_count": {"value": resources, "type": "number"}},
        "resources": blocks,
        "check_results": null,
    });
    serde_json::to_string_pretty(&state).unwrap_or_default()
}

fn aws_attrs(id: &str, arn: &str, region: &str, tags: &Value, mut extra: Value) -> Value {
    let mut all = tags.clone();
    all["managed-by"] = json!("terraform");
    extra["id"] = json!(id);
    extra["arn"] = json!(arn);
    extra["region"] = json!(region);
    extra["tags"] = tags.clone();
    extra["tags_all"] = all;
    extra
}

fn resource(module: &str, mode: &str, kind: &str, name: &str, provider: &str, each: Option<&str>, instances: Vec<Value>) -> Value {
    let mut r = json!({
        "mode": mode,
        "type": kind,
        "name": name,
        "provider": format!("provider[\"registry.terraform.io/{provider}\"]"),
        "instances": instances,
    });
    if !module.is_empty() {
        r["module"] = json!(module);
    }
    if let Some(each) = each {
        r["each"] = json!(each);
    }
    r
}

/// The resource's address as dependencies name it (module instance keys left out).
fn address(block: &Value) -> String {
    let module = block["module"].as_str().map(|m| {
        let mut out = String::new();
        let mut skip = false;
        for c in m.chars() {
            match c {
                '[' => skip = true,
                ']' => skip = false,
                _ if !skip => out.push(c),
                _ => {}
            }
        }
        format!("{out}.")
    });
    format!("{}{}.{}", module.unwrap_or_default(), block["type"].as_str().unwrap_or_default(), block["name"].as_str().unwrap_or_default())
}
