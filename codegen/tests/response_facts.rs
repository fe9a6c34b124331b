//! The response facts the model decides from Kafka 4.4's schemas: where
//! each error code applies, which fields name a topic, where the leader
//! hint sits, the throttle field and the versions with codes below the
//! request level. The property test in the kwire crate (tests/facts.rs)
//! checks the generated walk against values; this pins the decisions.

mod support;

use kwire_codegen::model::{ErrorSite, MessageModel, Model, StructModel};
use kwire_codegen::pin::schema_files;
use kwire_codegen::run::load_model;
use kwire_codegen::versions::Versions;

fn model() -> Model {
    load_model(&schema_files(&support::shared_schemas().join("4.4")).unwrap()).unwrap()
}

fn site<'a>(m: &'a MessageModel, s: &str) -> (&'a StructModel, Option<ErrorSite>) {
    let s = m
        .find_struct(s)
        .unwrap_or_else(|| panic!("{} has no {s}", m.name));
    let e = s
        .errors
        .as_ref()
        .unwrap_or_else(|| panic!("{} carries no errors", s.name));
    (s, e.code.map(|(_, site)| site))
}

fn field(s: &StructModel, i: usize) -> &str {
    &s.fields[i].name
}

#[test]
fn sites_follow_the_schemas() {
    let model = model();
    let m = |n: &str| model.find(n).unwrap();

    let produce = m("ProduceResponse");
    let (s, at) = site(produce, "PartitionProduceResponse");
    let Some(ErrorSite::Partition {
        index,
        leader: Some(l),
    }) = at
    else {
        panic!("{at:?}")
    };
    assert_eq!((field(s, index), field(s, l)), ("Index", "CurrentLeader"));
    let (t, at) = site(produce, "TopicProduceResponse");
    assert_eq!(at, None, "a topic of Produce has no code of its own");
    let names = t.errors.as_ref().unwrap().topic.unwrap();
    assert_eq!(field(t, names.name.unwrap()), "Name");
    // Produce v13+ names topics by id (KIP-516).
    assert_eq!(names.id_names, Versions::new(13, produce.valid.hi));

    let (_, at) = site(m("CreateTopicsResponse"), "CreatableTopicResult");
    assert_eq!(at, Some(ErrorSite::Topic));
    let t = m("CreateTopicsResponse")
        .find_struct("CreatableTopicResult")
        .unwrap();
    let names = t.errors.as_ref().unwrap().topic.unwrap();
    assert!(
        names.id_names.is_empty(),
        "the name, never null, names a created topic"
    );
    let code = t.errors.as_ref().unwrap().code.unwrap().0;
    assert_eq!(field(t, code), "ErrorCode", "not TopicConfigErrorCode");
    let t = m("DeleteTopicsResponse")
        .find_struct("DeletableTopicResult")
        .unwrap();
    let names = t.errors.as_ref().unwrap().topic.unwrap();
    assert_eq!(
        names.id_names,
        Versions::new(6, m("DeleteTopicsResponse").valid.hi)
    );

    for (msg, s, key) in [
        ("DescribeGroupsResponse", "DescribedGroup", "GroupId"),
        ("OffsetFetchResponse", "OffsetFetchResponseGroup", "GroupId"),
        (
            "DescribeTransactionsResponse",
            "TransactionState",
            "TransactionalId",
        ),
    ] {
        let (st, at) = site(m(msg), s);
        let Some(ErrorSite::Key { field: f, .. }) = at else {
            panic!("{msg}.{s}: {at:?}")
        };
        assert_eq!(field(st, f), key);
    }
    let (st, at) = site(
        m("AddPartitionsToTxnResponse"),
        "AddPartitionsToTxnPartitionResult",
    );
    let Some(ErrorSite::Partition { leader: None, .. }) = at else {
        panic!("{at:?}")
    };
    let code = st.errors.as_ref().unwrap().code.unwrap().0;
    assert_eq!(field(st, code), "PartitionErrorCode");
    for (msg, s) in [
        ("LeaveGroupResponse", "MemberResponse"),
        ("FindCoordinatorResponse", "Coordinator"),
        ("AlterConfigsResponse", "AlterConfigsResourceResponse"),
    ] {
        assert_eq!(site(m(msg), s).1, Some(ErrorSite::Entry), "{msg}.{s}");
    }
    assert_eq!(
        site(m("MetadataResponse"), "MetadataResponseTopic").1,
        Some(ErrorSite::Topic)
    );
}

#[test]
fn throttle_and_entry_versions() {
    let model = model();
    let reply = |n: &str| model.find(n).unwrap().reply.clone().unwrap();
    let fetch = reply("FetchResponse");
    assert!(fetch.throttle.is_some());
    assert_eq!(
        fetch.entry_errors,
        vec![model.find("FetchResponse").unwrap().valid]
    );
    // LeaveGroup answers per member from v3 (KIP-345); before, its
    // top-level code is the only one.
    let hi = model.find("LeaveGroupResponse").unwrap().valid.hi;
    assert_eq!(
        reply("LeaveGroupResponse").entry_errors,
        vec![Versions::new(3, hi)]
    );
    let hi = model.find("FindCoordinatorResponse").unwrap().valid.hi;
    assert_eq!(
        reply("FindCoordinatorResponse").entry_errors,
        vec![Versions::new(4, hi)]
    );
    assert!(reply("InitProducerIdResponse").entry_errors.is_empty());
    // Requests carry no response facts; a response without a code no walk.
    assert!(model.find("FetchRequest").unwrap().reply.is_none());
    let v = model.find("ApiVersionsResponse").unwrap();
    assert!(v.structs[1..].iter().all(|s| s.errors.is_none()));
}
