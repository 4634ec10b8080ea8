use super::*;

const ACCOUNT: &str = "111122223333";

/// A resource as (type, name).
type Pair<'a> = Option<(&'a str, &'a str)>;

/// An origin's account, region, service and resource.
type Parts<'a> = (Option<&'a str>, Option<&'a str>, Option<&'a str>, Pair<'a>);

/// The origin's parts as plain values, for short assertions.
fn parts(o: AwsOrigin<'_>) -> Parts<'_> {
    (
        o.account_id,
        o.region,
        o.service.map(Service::as_str),
        o.resource.map(|r| (r.kind, r.name)),
    )
}

#[test]
fn cloudtrail_keys_plain_organization_digest_and_insight() {
    let key = "s3://trail-bucket/my/prefix/AWSLogs/111122223333/CloudTrail/eu-west-1/2026/12/01/111122223333_CloudTrail_eu-west-1_20261201T0005Z_a1b2c3.json.gz";
    let o = from_stream(key);
    assert_eq!(
        parts(o),
        (Some(ACCOUNT), Some("eu-west-1"), Some("cloudtrail"), None)
    );
    assert_eq!(o.organization_id, None);

    let org = "AWSLogs/o-exampleorgid/111122223333/CloudTrail/us-east-1/2026/12/01/111122223333_CloudTrail_us-east-1_20261201T0005Z_x.json.gz";
    let o = from_stream(org);
    assert_eq!(o.organization_id, Some("o-exampleorgid"));
    assert_eq!(
        parts(o),
        (Some(ACCOUNT), Some("us-east-1"), Some("cloudtrail"), None)
    );

    for folder in ["CloudTrail-Digest", "CloudTrail-Insight"] {
        let key = format!("AWSLogs/{ACCOUNT}/{folder}/ap-south-1/2026/12/01/{ACCOUNT}_{folder}_ap-south-1_x.json.gz");
        let o = from_stream(&key);
        assert_eq!(
            parts(o),
            (Some(ACCOUNT), Some("ap-south-1"), Some("cloudtrail"), None),
            "{key}"
        );
    }
}

#[test]
fn load_balancer_keys_name_the_load_balancer() {
    let dir = format!("/tmp/x/AWSLogs/{ACCOUNT}/elasticloadbalancing/eu-west-1/2026/12/01");
    let cases = [
        (format!("{ACCOUNT}_elasticloadbalancing_eu-west-1_app.my-lb.50dc6c495c0c9188_20261201T0005Z_10.0.0.1_2abc.log.gz"), "my-lb"),
        (format!("{ACCOUNT}_elasticloadbalancing_eu-west-1_net.my-nlb.c6e77e28c25b2234_20261201T0005Z_10.0.0.1_2abc.log.gz"), "my-nlb"),
        (format!("{ACCOUNT}_elasticloadbalancing_eu-west-1_my-classic_20261201T0005Z_10.0.0.1_2abc.log"), "my-classic"),
        (format!("conn_log_{ACCOUNT}_elasticloadbalancing_eu-west-1_app.my-lb.50dc6c495c0c9188_20261201T0005Z_10.0.0.1_2abc.log.gz"), "my-lb"),
    ];
    for (name, lb) in cases {
        let path = format!("{dir}/{name}");
        let o = from_stream(&path);
        let expected = (
            Some(ACCOUNT),
            Some("eu-west-1"),
            Some("elasticloadbalancing"),
            Some(("loadbalancer", lb)),
        );
        assert_eq!(parts(o), expected, "{name}");
        // The name alone (a flattened copy) says the same.
        assert_eq!(parts(from_stream(&name)), expected, "{name}");
    }
}

#[test]
fn vpc_flow_keys_plain_and_hive_style() {
    let plain = format!("AWSLogs/{ACCOUNT}/vpcflowlogs/us-west-2/2026/12/01/{ACCOUNT}_vpcflowlogs_us-west-2_fl-1234abcd_20261201T0005Z_hash.log.gz");
    let expected = (
        Some(ACCOUNT),
        Some("us-west-2"),
        Some("ec2"),
        Some(("vpc-flow-log", "fl-1234abcd")),
    );
    assert_eq!(parts(from_stream(&plain)), expected);
    let hive = format!("s3://b/AWSLogs/aws-account-id={ACCOUNT}/aws-service=vpcflowlogs/aws-region=us-west-2/year=2026/month=12/day=01/{ACCOUNT}_vpcflowlogs_us-west-2_fl-1234abcd_20261201T0005Z_hash.log.gz");
    assert_eq!(parts(from_stream(&hive)), expected);
}

#[test]
fn resolver_firewall_waf_and_redshift_keys() {
    let resolver = format!("AWSLogs/{ACCOUNT}/vpcdnsquerylogs/vpc-0abc/2026/12/01/{ACCOUNT}_vpcdnsquerylogs_vpc-0abc_20261201T0005Z_h.log.gz");
    assert_eq!(
        parts(from_stream(&resolver)),
        (
            Some(ACCOUNT),
            None,
            Some("route53resolver"),
            Some(("vpc", "vpc-0abc"))
        ),
        "a VPC id is not a region"
    );
    let firewall = format!("AWSLogs/{ACCOUNT}/network-firewall/alert/eu-central-1/fw-1/2026/12/01/13/{ACCOUNT}_network-firewall_alert_eu-central-1_fw-1_202612011300_h.log.gz");
    let expected = (
        Some(ACCOUNT),
        Some("eu-central-1"),
        Some("network-firewall"),
        Some(("firewall", "fw-1")),
    );
    assert_eq!(parts(from_stream(&firewall)), expected);
    let name = firewall.rsplit('/').next().unwrap();
    assert_eq!(parts(from_stream(name)), expected);

    let waf = format!("AWSLogs/{ACCOUNT}/WAFLogs/us-east-1/my_web_acl/2026/12/01/13/05/{ACCOUNT}_waflogs_us-east-1_my_web_acl_20261201T1305Z_h.log.gz");
    let expected = (
        Some(ACCOUNT),
        Some("us-east-1"),
        Some("wafv2"),
        Some(("webacl", "my_web_acl")),
    );
    assert_eq!(parts(from_stream(&waf)), expected);
    assert_eq!(
        parts(from_stream(waf.rsplit('/').next().unwrap())),
        expected
    );
    let global = format!("AWSLogs/{ACCOUNT}/WAFLogs/cloudfront/edge-acl/2026/12/01/13/05/{ACCOUNT}_waflogs_cloudfront_edge-acl_20261201T1305Z_h.log.gz");
    assert_eq!(
        parts(from_stream(&global)),
        (
            Some(ACCOUNT),
            None,
            Some("wafv2"),
            Some(("webacl", "edge-acl"))
        ),
        "CloudFront web ACLs are global"
    );

    let redshift = format!("AWSLogs/{ACCOUNT}/redshift/us-east-2/2026/12/01/{ACCOUNT}_redshift_us-east-2_my-cluster_useractivitylog_2026-12-01T13:05.gz");
    let expected = (
        Some(ACCOUNT),
        Some("us-east-2"),
        Some("redshift"),
        Some(("cluster", "my-cluster")),
    );
    assert_eq!(parts(from_stream(&redshift)), expected);
}

#[test]
fn cloudfront_and_s3_access_object_names() {
    let cf = "s3://logs/cf/E2EXAMPLE1234.2026-12-01-13.a1b2c3d4.gz";
    assert_eq!(
        parts(from_stream(cf)),
        (
            None,
            None,
            Some("cloudfront"),
            Some(("distribution", "E2EXAMPLE1234"))
        ),
        "CloudFront is global: no account, no region"
    );
    let simple = "s3://logs/access/2026-12-01-13-05-09-1A2B3C4D5E6F7A8B";
    assert_eq!(parts(from_stream(simple)), (None, None, Some("s3"), None));
    let partitioned = format!("s3://logs/access/{ACCOUNT}/eu-west-3/source-bucket/2026/12/01/2026-12-01-13-05-09-1A2B3C4D5E6F7A8B");
    let expected = (
        Some(ACCOUNT),
        Some("eu-west-3"),
        Some("s3"),
        Some(("bucket", "source-bucket")),
    );
    assert_eq!(parts(from_stream(&partitioned)), expected);
    let glued = format!("s3://logs/access-{ACCOUNT}/eu-west-3/source-bucket/2026/12/01/2026-12-01-13-05-09-1A2B3C4D5E6F7A8B");
    assert_eq!(
        parts(from_stream(&glued)),
        expected,
        "the prefix may be glued to the account"
    );
    let thirteen =
        "s3://logs/1111122223333/eu-west-3/b/2026/12/01/2026-12-01-13-05-09-1A2B3C4D5E6F7A8B";
    assert_eq!(
        from_stream(thirteen).account_id,
        None,
        "13 digits are no account"
    );
}

#[test]
fn the_path_wins_over_the_name_and_unknown_folders_keep_account_and_region() {
    let mixed = format!("AWSLogs/{ACCOUNT}/elasticloadbalancing/eu-west-1/2026/12/01/999988887777_elasticloadbalancing_us-east-1_app.lb.1_x.log");
    let o = from_stream(&mixed);
    assert_eq!(
        parts(o),
        (
            Some(ACCOUNT),
            Some("eu-west-1"),
            Some("elasticloadbalancing"),
            Some(("loadbalancer", "lb"))
        )
    );
    let unknown = format!("AWSLogs/{ACCOUNT}/somethingnew/sa-east-1/2026/12/01/obj.log");
    assert_eq!(
        parts(from_stream(&unknown)),
        (Some(ACCOUNT), Some("sa-east-1"), None, None)
    );
    // The first `AWSLogs` segment followed by an account counts.
    let twice = format!("AWSLogs/backup/AWSLogs/{ACCOUNT}/CloudTrail/us-east-1/2026/x.json");
    assert_eq!(from_stream(&twice).account_id, Some(ACCOUNT));
}

#[test]
fn unknown_layouts_give_an_empty_origin_and_nothing_panics() {
    for text in [
        "",
        "/",
        "//",
        "s3://",
        "s3://bucket",
        "s3://bucket/",
        "/var/log/alb.log",
        "kinesis://stream/shardId-000000000001",
        "AWSLogs",
        "AWSLogs/",
        "AWSLogs/12345",
        "AWSLogs/o-exampleorgid",
        "AWSLogs/o-exampleorgid/x/CloudTrail/us-east-1/f",
        "_",
        "__",
        "111122223333_",
        "111122223333_CloudTrail",
        "111122223333_unknown_us-east-1_x",
        "x_elasticloadbalancing_us-east-1_lb",
        "AWSLogs/111122223333",
        "AWSLogs/111122223333/",
        "\u{e9}/AWSLogs/\u{e9}",
    ] {
        let o = from_stream(text);
        let known = o.account_id.is_some() || o.service.is_some();
        let expected = matches!(text, "AWSLogs/111122223333" | "AWSLogs/111122223333/");
        assert_eq!(known, expected, "{text:?}: {o:?}");
        assert_eq!(o.region, None, "{text:?}");
    }
    assert!(from_stream("/var/log/alb.log").is_empty());
    // A name needs something after `<account>_<folder>_` to be a delivered name.
    assert_eq!(
        parts(from_stream("111122223333_CloudTrail_x")).2,
        Some("cloudtrail")
    );
}

#[test]
fn regions_accounts_and_organizations() {
    for region in [
        "us-east-1",
        "us-gov-west-1",
        "ap-southeast-2",
        "cn-north-1",
        "il-central-1",
        "us-isob-east-1",
    ] {
        assert!(is_region(region), "{region}");
    }
    for not in [
        "",
        "us",
        "us-east",
        "useast-1",
        "US-EAST-1",
        "vpc-0abc",
        "cloudfront",
        "us--1",
        "us-east-1a",
        "-east-1",
    ] {
        assert!(!is_region(not), "{not}");
    }
    assert!(is_account_id(ACCOUNT));
    assert!(!is_account_id("11112222333") && !is_account_id("11112222333x"));
    assert!(is_organization_id("o-exampleorgid") && is_organization_id("o-a1b2c3d4e5"));
    assert!(
        !is_organization_id("o-short")
            && !is_organization_id("o-UPPERCASEID")
            && !is_organization_id(ACCOUNT)
    );
}

#[test]
fn log_groups_of_the_corpus_and_of_aws_services() {
    let cases: &[(&str, Option<&str>, Pair<'_>)] = &[
        (
            "/aws/lambda/echo-nodejs",
            Some("lambda"),
            Some(("function", "echo-nodejs")),
        ),
        (
            "/aws/lambda/test_log_producer",
            Some("lambda"),
            Some(("function", "test_log_producer")),
        ),
        (
            "/aws/rds/instance/druid-lab0/postgresql",
            Some("rds"),
            Some(("db", "druid-lab0")),
        ),
        (
            "/aws/rds/instance/kh-test-database-1/error",
            Some("rds"),
            Some(("db", "kh-test-database-1")),
        ),
        (
            "/aws/rds/cluster/aurora-1/postgresql",
            Some("rds"),
            Some(("cluster", "aurora-1")),
        ),
        ("/aws/rds/proxy/px", Some("rds"), Some(("db-proxy", "px"))),
        (
            "API-Gateway-Execution-Logs_kgiqlx3nok/prod",
            Some("apigateway"),
            Some(("restapi", "kgiqlx3nok")),
        ),
        (
            "/aws/redshift/cluster/my-cluster/useractivitylog",
            Some("redshift"),
            Some(("cluster", "my-cluster")),
        ),
        (
            "/aws/kinesisfirehose/my-stream",
            Some("firehose"),
            Some(("deliverystream", "my-stream")),
        ),
        (
            "/aws/eks/prod/cluster",
            Some("eks"),
            Some(("cluster", "prod")),
        ),
        (
            "/aws/route53/example.com",
            Some("route53"),
            Some(("hostedzone", "example.com")),
        ),
        ("aws-waf-logs-my-acl", Some("wafv2"), None),
        ("/aws/unknown/x", None, None),
        ("/aws/rds/", Some("rds"), None),
        ("/aws/lambda/", Some("lambda"), None),
        ("testLogGroup", None, None),
        ("", None, None),
    ];
    for (group, service, resource) in cases {
        let o = from_log_group(group);
        assert_eq!(o.service.map(Service::as_str), *service, "{group}");
        assert_eq!(o.resource.map(|r| (r.kind, r.name)), *resource, "{group}");
        assert_eq!(o.account_id, None, "{group}");
    }
    let edge = from_log_group("/aws/lambda/us-east-1.edge-fn");
    assert_eq!(
        parts(edge),
        (
            None,
            Some("us-east-1"),
            Some("lambda"),
            Some(("function", "edge-fn"))
        )
    );
}

#[test]
fn cloudwatch_owner_and_cloudtrail_streams() {
    let o = from_cloudwatch(
        "/aws/lambda/f",
        Some("2026/12/01/[$LATEST]abc"),
        Some(ACCOUNT),
    );
    assert_eq!(
        parts(o),
        (Some(ACCOUNT), None, Some("lambda"), Some(("function", "f")))
    );
    let control = from_cloudwatch("", Some(""), Some("CloudwatchLogs"));
    assert!(
        control.is_empty(),
        "a control message's owner is no account"
    );

    let trail = from_cloudwatch(
        "CloudTrail/DefaultLogGroup",
        Some("123456789012_CloudTrail_us-east-1"),
        Some(ACCOUNT),
    );
    assert_eq!(
        parts(trail),
        (
            Some("123456789012"),
            Some("us-east-1"),
            Some("cloudtrail"),
            None
        ),
        "the stream's account: the events'"
    );
    let named = from_cloudwatch(
        "CloudTrail/logs",
        Some("111111111111_CloudTrail/logs_us-east-1"),
        None,
    );
    assert_eq!(
        parts(named),
        (
            Some("111111111111"),
            Some("us-east-1"),
            Some("cloudtrail"),
            None
        )
    );
    let large = from_cloudwatch("g", Some("123456789012_CloudTrail_eu-west-1_2"), None);
    assert_eq!(large.region, Some("eu-west-1"));
    let org = from_cloudwatch(
        "g",
        Some("o-exampleorgid_123456789012_CloudTrail_eu-west-1"),
        Some(ACCOUNT),
    );
    assert_eq!(org.organization_id, Some("o-exampleorgid"));
    assert_eq!(org.account_id, Some("123456789012"));
    for stream in [
        "log_stream_name",
        "test",
        "x_CloudTrail_us-east-1",
        "123456789012_Other_us-east-1",
        "123456789012_CloudTrail_",
        "_",
        "",
    ] {
        let o = from_cloudwatch("log_group_name", Some(stream), None);
        assert!(o.is_empty(), "{stream}: {o:?}");
    }
}

#[test]
fn arns_parse_into_their_parts_and_resources() {
    let tg = Arn::parse("arn:aws:elasticloadbalancing:us-east-2:123456789012:targetgroup/my-targets/73e2d6bc24d8a067").unwrap();
    assert_eq!(
        (tg.partition, tg.service, tg.region, tg.account_id),
        ("aws", "elasticloadbalancing", "us-east-2", "123456789012")
    );
    assert_eq!(
        tg.resource(),
        Some(Resource {
            kind: "targetgroup",
            name: "my-targets"
        })
    );
    let cases = [
        ("arn:aws:elasticloadbalancing:us-east-2:123456789012:loadbalancer/app/my-lb/50dc6c495c0c9188", ("loadbalancer", "my-lb")),
        ("arn:aws:elasticloadbalancing:us-east-2:123456789012:loadbalancer/classic-lb", ("loadbalancer", "classic-lb")),
        ("arn:aws:wafv2:ap-southeast-2:111122223333:regional/webacl/STMTest/1EXAMPLE", ("webacl", "STMTest")),
        ("arn:aws:wafv2:us-east-1:111122223333:global/webacl/edge/1EXAMPLE", ("webacl", "edge")),
        ("arn:aws:firehose:us-east-1:123456789012:deliverystream/ronald-test", ("deliverystream", "ronald-test")),
        ("arn:aws:lambda:us-east-1:123456789012:function:my-fn:3", ("function", "my-fn")),
        ("arn:aws:rds:eu-west-1:123456789012:db:mydb", ("db", "mydb")),
        ("arn:aws:s3:::my-bucket", ("bucket", "my-bucket")),
        ("arn:aws-us-gov:ec2:us-gov-west-1:123456789012:vpc-flow-log/fl-1", ("vpc-flow-log", "fl-1")),
    ];
    for (text, (kind, name)) in cases {
        let arn = Arn::parse(text).unwrap();
        assert_eq!(arn.resource(), Some(Resource { kind, name }), "{text}");
    }
    let bucket = Arn::parse("arn:aws:s3:::my-bucket").unwrap().origin();
    assert_eq!(
        (bucket.account_id, bucket.region),
        (None, None),
        "a bucket ARN is global"
    );
    assert_eq!(
        Arn::parse("arn:aws:iam::123456789012:root")
            .unwrap()
            .resource(),
        None
    );
}

#[test]
fn arn_errors_say_what_is_wrong() {
    assert_eq!(Arn::parse("webacl-id"), Err(ArnError::NotArn));
    assert_eq!(Arn::parse(""), Err(ArnError::NotArn));
    assert_eq!(Arn::parse("arn:aws:s3"), Err(ArnError::MissingParts(3)));
    assert_eq!(Arn::parse("arn::s3:::b"), Err(ArnError::Empty("partition")));
    assert_eq!(
        Arn::parse("arn:aws:s3:::"),
        Err(ArnError::Empty("resource"))
    );
    assert_eq!(
        ArnError::MissingParts(3).to_string(),
        "an ARN has six `:`-separated parts, this one 3"
    );
}

#[test]
fn arns_complete_an_origin_of_the_same_account_only() {
    let waf = Arn::parse("arn:aws:wafv2:ap-southeast-2:111122223333:regional/webacl/STMTest/1EX")
        .unwrap();
    let group = from_cloudwatch("aws-waf-logs-x", None, Some(ACCOUNT));
    assert_eq!(
        parts(group.complete(&waf)),
        (
            Some(ACCOUNT),
            Some("ap-southeast-2"),
            Some("wafv2"),
            Some(("webacl", "STMTest"))
        )
    );
    let elsewhere = from_cloudwatch("aws-waf-logs-x", None, Some("999988887777"));
    assert_eq!(
        elsewhere.complete(&waf),
        elsewhere,
        "another account's ARN says nothing"
    );
    // The origin's own parts win.
    let key = format!("AWSLogs/{ACCOUNT}/WAFLogs/eu-west-1/acl/2026/x.log");
    let completed = from_stream(&key).complete(&waf);
    assert_eq!(completed.region, Some("eu-west-1"));
    assert_eq!(completed.resource.map(|r| r.name), Some("acl"));
}

#[test]
fn every_service_reads_back_from_its_namespace() {
    for service in Service::ALL {
        assert_eq!(
            Service::from_delivery_name(service.as_str()),
            Some(*service)
        );
        assert_eq!(service.to_string(), service.as_str());
    }
}
