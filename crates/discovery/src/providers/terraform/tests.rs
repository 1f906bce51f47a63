use std::path::PathBuf;

use serde_json::{Value, json};

use super::entity::{self, Mapping};
use super::state::{self, module_path, provider_source, without_keys};
use super::TerraformProvider;

fn fixture(name: &str) -> (String, String) {
    let path = PathBuf::from(concat!(env!("CARGO_MANIFEST_DIR"), "/../../../shared/fixtures/terraform")).join(name);
    let text = std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    (name.to_owned(), text)
}

fn mapping() -> Mapping {
    let s = |v: &[&str]| v.iter().map(|s| (*s).to_owned()).collect();
    Mapping {
        owner_tags: s(&["owner", "Owner", "team", "Team"]),
        system_tags: s(&["system", "System"]),
        component_tags: s(&["component", "Component", "service", "app"]),
        include_data_sources: false,
        prefix: None,
    }
}

/// Documents of a state text, by entity name.
fn documents(file: &str, text: &str, m: &Mapping) -> Vec<Value> {
    let st = state::parse(file, text).unwrap_or_else(|e| panic!("{e}"));
    entity::contributions(&st, m, file).into_iter().map(|c| c.document).collect()
}

/// Documents of a fixture state with the default tag mapping.
fn fixture_documents(name: &str) -> Vec<Value> {
    let (file, text) = fixture(name);
    documents(&file, &text, &mapping())
}

fn named<'a>(docs: &'a [Value], name: &str) -> &'a Value {
    docs.iter().find(|d| d["metadata"]["name"] == name).unwrap_or_else(|| {
        let names: Vec<&Value> = docs.iter().map(|d| &d["metadata"]["name"]).collect();
        panic!("no entity {name}; have {names:?}")
    })
}

fn parse_err(text: &str) -> String {
    state::parse("s.tfstate", text).expect_err("an error")
}

#[test]
fn every_valid_fixture_yields_one_resource_per_managed_instance() {
    let cases = [
        ("driftctl/aws_ec2_instance.tfstate", 1),
        ("driftctl/aws_lambda_function.tfstate", 2),
        ("driftctl/aws_route53_record_multiples.tfstate", 11),
        ("driftctl/aws_s3_full.tfstate", 26),
        ("driftctl/azurerm_lb.tfstate", 1),
        ("driftctl/azurerm_network_security_group.tfstate", 3),
        ("driftctl/data_source.tfstate", 0),
        ("driftctl/github_repository.tfstate", 2),
        ("driftctl/google_compute_instance.tfstate", 1),
        ("driftctl/google_sql_database_instance.tfstate", 1),
        ("driftctl/module.iam_iam-user.tfstate", 2),
        ("driftctl/source.tfstate", 2),
        ("driftctl/v4/valid.tfstate", 1),
        ("hashicorp/v4-modules.in.tfstate", 4),
        ("hashicorp/v3-bigint.in.tfstate", 4),
    ];
    for (file, count) in cases {
        let (file, text) = fixture(file);
        let docs = documents(&file, &text, &mapping());
        assert_eq!(docs.len(), count, "{file}");
        for d in &docs {
            assert_eq!(d["kind"], "Resource", "{file}");
            let name = d["metadata"]["name"].as_str().unwrap();
            assert!(name.len() <= 63 && portico_model::naming::sanitize_object_name(name).as_deref() == Some(name), "{file}: {name}");
            assert_eq!(d["spec"]["type"], d["status"]["facts"]["terraform.type"], "{file}");
            assert!(d["metadata"]["annotations"]["portico.dev/terraform-address"].is_string(), "{file}");
        }
        let mut names: Vec<&Value> = docs.iter().map(|d| &d["metadata"]["name"]).collect();
        names.sort_by_key(|v| v.to_string());
        names.dedup();
        assert_eq!(names.len(), count, "{file}: names are unique");
    }
}

#[test]
fn resources_carry_type_provider_id_and_region() {
    let docs = fixture_documents("driftctl/aws_s3_full.tfstate");
    let bucket = named(&docs, "aws_s3_bucket.bucket");
    let facts = &bucket["status"]["facts"];
    assert_eq!(bucket["spec"]["type"], "aws_s3_bucket");
    assert_eq!(facts["terraform.provider"], "registry.terraform.io/-/aws");
    assert_eq!(facts["terraform.providerName"], "aws");
    assert_eq!(facts["terraform.region"], "eu-west-3");
    assert!(facts["terraform.id"].is_string());
    assert!(facts.get("terraform.module").is_none());
    assert_eq!(bucket["metadata"]["tags"], json!(["aws"]));
    assert!(bucket["spec"].get("owner").is_none(), "no owner tag, no owner");

    let docs = fixture_documents("driftctl/google_sql_database_instance.tfstate");
    let facts = &docs[0]["status"]["facts"];
    assert_eq!(facts["terraform.provider"], "registry.terraform.io/hashicorp/google");
    assert_eq!(facts["terraform.providerName"], "google");
    assert_eq!(facts["terraform.region"], "us-central1");
}

#[test]
fn count_instances_each_become_an_entity_depending_on_every_instance_named() {
    let docs = fixture_documents("driftctl/aws_route53_record_multiples.tfstate");
    let record = named(&docs, "aws_route53_record.test-2");
    assert_eq!(record["metadata"]["annotations"]["portico.dev/terraform-address"], "aws_route53_record.test[2]");
    assert_eq!(
        record["spec"]["dependsOn"],
        json!(["resource:default/aws_route53_zone.foobar-0", "resource:default/aws_route53_zone.foobar-1"])
    );
    assert!(named(&docs, "aws_route53_zone.foobar-1")["spec"].get("dependsOn").is_none());
}

#[test]
fn module_resources_name_their_module_and_resolve_dependencies_inside_it() {
    let docs = fixture_documents("driftctl/module.iam_iam-user.tfstate");
    let key = named(&docs, "module.iam_iam-user.aws_iam_access_key.this_no_pgp-0");
    assert_eq!(key["status"]["facts"]["terraform.module"], "module.iam_iam-user");
    assert_eq!(key["spec"]["dependsOn"], json!(["resource:default/module.iam_iam-user.aws_iam_user.this-0"]));
    let user = named(&docs, "module.iam_iam-user.aws_iam_user.this-0");
    assert_eq!(user["status"]["facts"]["terraform.id"], "MODULE-USER");
    assert_eq!(user["status"]["facts"]["terraform.provider"], "registry.terraform.io/hashicorp/aws");
}

#[test]
fn flat_attributes_for_each_keys_and_relative_depends_on_are_read() {
    let docs = fixture_documents("hashicorp/v4-modules.in.tfstate");
    let a = named(&docs, "module.modB.null_resource.bar-a");
    assert_eq!(a["metadata"]["annotations"]["portico.dev/terraform-address"], "module.modB.null_resource.bar[\"a\"]");
    assert_eq!(a["status"]["facts"]["terraform.id"], "8212585058302700791");
    assert_eq!(a["status"]["facts"]["terraform.providerName"], "null");
    assert_eq!(a["spec"]["dependsOn"], json!(["resource:default/module.modA.null_resource.resource"]));
    // 0.12's `depends_on` is relative to the module; `var.input` names no resource.
    let r = named(&docs, "module.modA.null_resource.resource");
    assert_eq!(r["spec"]["dependsOn"], json!(["resource:default/null_resource.bar"]));
    // `null_resource.foo` is not in the state: skipped.
    assert!(named(&docs, "null_resource.bar")["spec"].get("dependsOn").is_none());
}

#[test]
fn version_3_states_are_upgraded_with_big_numbers_intact() {
    let (file, text) = fixture("hashicorp/v3-bigint.in.tfstate");
    assert_eq!(state::identity(&file, &text).unwrap(), ("0f5b2ff9-6ff5-8e9e-1f81-aa3ce9a483eb".into(), 8, 3));
    let docs = documents(&file, &text, &mapping());
    let bar1 = named(&docs, "null_resource.bar-1");
    assert_eq!(bar1["metadata"]["annotations"]["portico.dev/terraform-address"], "null_resource.bar[1]");
    assert_eq!(bar1["status"]["facts"]["terraform.id"], "4776432143683449212");
    assert_eq!(bar1["spec"]["dependsOn"], json!(["resource:default/null_resource.baz"]));
    assert_eq!(bar1["status"]["facts"]["terraform.provider"], "registry.terraform.io/-/null");
    let child = named(&docs, "module.child.null_resource.foo");
    assert_eq!(child["status"]["facts"]["terraform.module"], "module.child");
}

#[test]
fn data_sources_are_skipped_unless_asked_for() {
    let (file, text) = fixture("driftctl/azurerm_network_security_group.tfstate");
    let docs = documents(&file, &text, &Mapping { include_data_sources: true, ..mapping() });
    assert_eq!(docs.len(), 4);
    let data = named(&docs, "data.azurerm_resource_group.raphael-dev");
    assert_eq!(data["status"]["facts"]["terraform.mode"], "data");
    let nsg = named(&docs, "azurerm_network_security_group.example");
    assert_eq!(nsg["status"]["facts"]["terraform.region"], "westeurope");
    assert_eq!(nsg["status"]["facts"]["terraform.tags"], json!({"environment": "Production"}));
    assert_eq!(nsg["metadata"]["tags"], json!(["azurerm", "production"]));
    assert_eq!(nsg["spec"]["dependsOn"], json!(["resource:default/azurerm_resource_group.example"]));
}

#[test]
fn malformed_json_is_reported_with_file_line_and_column() {
    let (file, text) = fixture("driftctl/v4/invalid.tfstate");
    let err = state::parse(&file, &text).unwrap_err();
    assert!(err.starts_with("driftctl/v4/invalid.tfstate:"), "{err}");
    assert!(err.contains("invalid JSON"), "{err}");
    let position: Vec<&str> = err.split(':').skip(1).take(2).collect();
    assert!(position.iter().all(|p| p.parse::<u32>().is_ok()), "{err}");
    assert!(parse_err("not json").starts_with("s.tfstate:1:2: invalid JSON"), "{}", parse_err("not json"));
    assert!(parse_err("").contains("invalid JSON"));
}

#[test]
fn bad_terraform_versions_are_rejected_naming_the_field() {
    let (file, text) = fixture("driftctl/v4/invalid_version.tfstate");
    let err = state::parse(&file, &text).unwrap_err();
    assert!(err.contains("invalid_version.tfstate") && err.contains("`terraform_version`") && err.contains("\"invalid\""), "{err}");
    let (file, text) = fixture("driftctl/v4/unsupported_version.tfstate");
    let err = state::parse(&file, &text).unwrap_err();
    assert!(err.contains("`terraform_version`") && err.contains("0.10.26") && err.contains("version 4"), "{err}");
}

#[test]
fn unsupported_format_versions_are_rejected_naming_the_version() {
    for v in [1, 2, 5] {
        let err = parse_err(&format!(r#"{{"version": {v}, "serial": 1, "lineage": "x"}}"#));
        assert!(err.contains("s.tfstate") && err.contains("`version`") && err.contains(&format!("version {v} is not supported")), "{err}");
    }
    let err = parse_err(r#"{"version": "4", "serial": 1, "lineage": "x"}"#);
    assert!(err.contains("`version`: expected a format version number, found \"4\""), "{err}");
    assert!(parse_err(r#"{"serial": 1}"#).contains("field `version` is missing"));
    assert_eq!(parse_err("[1, 2]"), "s.tfstate: not a Terraform state: expected a JSON object");
    assert!(parse_err(r#"{"version": 4, "serial": 1}"#).contains("field `lineage` is missing"));
}

#[test]
fn wrong_field_types_name_the_field_and_position() {
    let text = r#"{"version": 4, "terraform_version": "1.5.7", "serial": 1, "lineage": "x",
        "resources": [{"mode": "managed", "type": "a_b", "name": "c", "provider": "provider.a",
        "instances": [{"index_key": 0, "attributes": {}}]}]}"#;
    assert!(state::parse("s.tfstate", text).is_ok());
    let err = parse_err(&text.replace("\"index_key\": 0", "\"index_key\": true"));
    assert!(err.starts_with("s.tfstate:3:") && err.contains("resources[0].instances[0].index_key") && err.contains("expected an integer (count) or a string (for_each)"), "{err}");
    let err = parse_err(&text.replace("\"managed\"", "\"ephemeral\""));
    assert!(err.contains("resources[0].mode") && err.contains("unknown variant `ephemeral`"), "{err}");
    let err = parse_err(&text.replace("\"name\": \"c\",", ""));
    assert!(err.contains("missing field `name`"), "{err}");
    let err = parse_err(r#"{"version": 3, "serial": 1, "lineage": "x", "modules": [{"path": ["child"]}]}"#);
    assert!(err.contains("modules[0].path"), "{err}");
}

#[test]
fn tags_map_to_owner_system_component_title_and_tags() {
    let text = json!({
        "version": 4, "terraform_version": "1.6.0", "serial": 3, "lineage": "l",
        "resources": [
            {"mode": "managed", "type": "aws_db_instance", "name": "main", "provider": "provider[\"registry.terraform.io/hashicorp/aws\"]",
             "instances": [{"attributes": {"id": "db-1", "arn": "arn:aws:rds:eu-central-1:123:db:main",
                "tags": {"Name": "Main database", "owner": "Payments Team", "system": "checkout", "service": "cart", "Environment": "Prod EU"},
                "tags_all": {"Name": "Main database", "managed-by": "terraform"}}}]},
            {"mode": "managed", "type": "aws_sqs_queue", "name": "q", "provider": "provider[\"registry.terraform.io/hashicorp/aws\"].west",
             "instances": [{"attributes": {"arn": "arn:aws:sqs:us-west-2:123:q", "tags": {"Team": "user:default/jane", "app": "component:ops/billing"}}}]},
            {"mode": "managed", "type": "aws_iam_role", "name": "r", "provider": "provider[\"registry.terraform.io/hashicorp/aws\"]",
             "instances": [{"attributes": {"id": "r", "tags": null}}]}
        ]
    })
    .to_string();
    let docs = documents("s.tfstate", &text, &mapping());
    let db = named(&docs, "aws_db_instance.main");
    assert_eq!(db["metadata"]["title"], "Main database");
    assert_eq!(db["metadata"]["tags"], json!(["aws", "prod-eu"]));
    assert_eq!(db["spec"]["owner"], "group:default/Payments-Team");
    assert_eq!(db["spec"]["system"], "system:default/checkout");
    assert_eq!(db["spec"]["dependencyOf"], json!(["component:default/cart"]));
    assert_eq!(db["status"]["facts"]["terraform.id"], "db-1");
    assert_eq!(db["status"]["facts"]["terraform.region"], "eu-central-1");
    assert_eq!(db["status"]["facts"]["terraform.tags"]["managed-by"], "terraform");
    let q = named(&docs, "aws_sqs_queue.q");
    assert_eq!(q["spec"]["owner"], "user:default/jane");
    assert_eq!(q["spec"]["dependencyOf"], json!(["component:ops/billing"]));
    assert_eq!(q["status"]["facts"]["terraform.id"], "arn:aws:sqs:us-west-2:123:q");
    assert_eq!(q["status"]["facts"]["terraform.region"], "us-west-2");
    assert_eq!(q["metadata"]["annotations"]["portico.dev/terraform-provider"], "registry.terraform.io/hashicorp/aws");
    let role = named(&docs, "aws_iam_role.r");
    assert!(role["spec"].get("owner").is_none() && role["metadata"].get("title").is_none());
    assert!(role["status"]["facts"].get("terraform.tags").is_none());

    let custom = Mapping { owner_tags: vec!["cost-center".into()], ..mapping() };
    let docs = documents("s.tfstate", &text.replace("\"owner\"", "\"cost-center\""), &custom);
    assert_eq!(named(&docs, "aws_db_instance.main")["spec"]["owner"], "group:default/Payments-Team");
}

#[test]
fn names_are_stable_unique_and_prefixed() {
    let long = format!("module.{}.aws_s3_bucket.logs", "a".repeat(80));
    let addrs = ["aws_s3_bucket.x[\"a b\"]", "aws_s3_bucket.x[\"a-b\"]", "aws_s3_bucket.y[0]", long.as_str()];
    let names = entity::entity_names(addrs.iter().copied(), None);
    assert_eq!(names[2], "aws_s3_bucket.y-0");
    assert_ne!(names[0], names[1]);
    assert!(names.iter().all(|n| n.len() <= 63), "{names:?}");
    let reversed = entity::entity_names(addrs.iter().rev().copied(), None);
    assert_eq!(names, reversed.into_iter().rev().collect::<Vec<_>>(), "order does not change names");
    // The hashed names stay the same alone: a long address always hashes.
    assert_eq!(entity::entity_names([long.as_str()].into_iter(), None)[0], names[3]);
    let prefixed = entity::entity_names(["aws_s3_bucket.y[0]"].into_iter(), Some("prod"));
    assert_eq!(prefixed, ["prod-aws_s3_bucket.y-0"]);
}

#[test]
fn provider_addresses_of_every_terraform_generation_are_read() {
    let cases = [
        ("provider.aws", "registry.terraform.io/-/aws", "aws"),
        ("provider.aws.west", "registry.terraform.io/-/aws", "aws"),
        ("module.x.provider.google", "registry.terraform.io/-/google", "google"),
        ("provider[\"registry.terraform.io/hashicorp/aws\"]", "registry.terraform.io/hashicorp/aws", "aws"),
        ("module.a.provider[\"example.com/acme/thing\"].alias", "example.com/acme/thing", "thing"),
    ];
    for (addr, source, short) in cases {
        assert_eq!(provider_source(addr), (source.to_owned(), short.to_owned()), "{addr}");
    }
    assert_eq!(without_keys("module.app[\"e]u\"].module.db[0].aws_x.y"), "module.app.module.db.aws_x.y");
    assert_eq!(module_path("module.app[\"e.u\"].module.db[0].aws_x.y"), ["app[\"e.u\"]", "db[0]"]);
    assert_eq!(module_path("module.app.data.aws_x.y"), ["app"]);
    assert!(module_path("aws_x.y").is_empty());
}

/// Terraform records dependencies without module instance keys. In a module called with
/// `for_each`, each instance's service depends on its own instance's security group, not on
/// every instance's; a resource outside the module depends on all of them.
#[test]
fn dependencies_inside_for_each_modules_stay_in_their_module_instance() {
    let resource = |module: &str, kind: &str, deps: &[&str]| {
        json!({"module": module, "mode": "managed", "type": kind, "name": "this", "provider": "provider[\"registry.terraform.io/hashicorp/aws\"]",
            "instances": [{"schema_version": 0, "attributes": {"id": format!("{module}.{kind}")}, "dependencies": deps}]})
    };
    let mut resources = Vec::new();
    for key in ["a", "b", "c"] {
        let module = format!("module.app[\"{key}\"]");
        resources.push(resource(&module, "aws_security_group", &[]));
        resources.push(resource(&module, "aws_ecs_service", &["module.app.aws_security_group.this"]));
        resources.push(resource(&format!("{module}.module.db[0]"), "aws_db_instance", &["module.app.aws_security_group.this"]));
    }
    resources.push(json!({"mode": "managed", "type": "aws_lb", "name": "edge", "provider": "provider[\"registry.terraform.io/hashicorp/aws\"]",
        "instances": [{"schema_version": 0, "attributes": {"id": "lb"}, "dependencies": ["module.app.aws_security_group.this"]}]}));
    resources.push(json!({"mode": "managed", "type": "aws_lb", "name": "keyed", "provider": "provider[\"registry.terraform.io/hashicorp/aws\"]",
        "instances": [{"schema_version": 0, "attributes": {"id": "lb2"}, "dependencies": ["module.app[\"c\"].aws_security_group.this"]}]}));
    let text = json!({"version": 4, "terraform_version": "1.7.5", "serial": 1, "lineage": "l", "outputs": {}, "resources": resources}).to_string();
    let docs = documents("app.tfstate", &text, &mapping());
    let at = |address: &str| {
        docs.iter().find(|d| d["metadata"]["annotations"]["portico.dev/terraform-address"] == address).unwrap_or_else(|| panic!("no {address}"))
    };
    let name = |address: &str| format!("resource:default/{}", at(address)["metadata"]["name"].as_str().unwrap());
    let group = |key: &str| name(&format!("module.app[\"{key}\"].aws_security_group.this"));
    assert_eq!(at("module.app[\"b\"].aws_ecs_service.this")["spec"]["dependsOn"], json!([group("b")]));
    assert_eq!(at("module.app[\"c\"].module.db[0].aws_db_instance.this")["spec"]["dependsOn"], json!([group("c")]));
    assert_eq!(at("aws_lb.edge")["spec"]["dependsOn"], json!([group("a"), group("b"), group("c")]));
    assert_eq!(at("aws_lb.keyed")["spec"]["dependsOn"], json!([group("c")]), "a dependency written with keys keeps them");
}

#[test]
fn settings_name_what_is_wrong() {
    let err = |v: Value| TerraformProvider::from_settings(&v).err().unwrap();
    assert!(err(json!({})).contains("missing field `states`"));
    assert!(err(json!({"states": []})).contains("at least one"));
    assert!(err(json!({"states": ["a"], "ownerTag": []})).contains("unknown field `ownerTag`"));
    assert!(err(json!({"states": [{"pth": "a"}]})).contains("states[0]: unknown field `pth`"));
    assert!(err(json!({"states": ["a", 3]})).contains("states[1]: expected a path"));
    assert!(err(json!({"states": [{"path": "a", "url": "http://x/"}]})).contains("either path or url"));
    assert!(err(json!({"states": [{"path": "a", "username": "u"}]})).contains("apply to a url"));
    assert!(err(json!({"states": [{"url": "http://x/", "passwordEnv": "P"}]})).contains("needs a username"));
    assert!(err(json!({"states": [{"url": "ftp://x/"}]})).contains("http or https"));
    let secret = err(json!({"states": ["https://u:hunter2@x/state"]}));
    assert!(secret.contains("must not contain credentials") && !secret.contains("hunter2"), "{secret}");
    assert!(TerraformProvider::from_settings(&json!({"states": ["a.tfstate", {"url": "https://tf.example.com/s", "name": "prod"}]})).is_ok());
}
