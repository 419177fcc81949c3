//! The diesel schema, written by hand so both backends share one set of column types
//! (`BigInt`, `Text`, `Binary`, `Bool`, `Timestamp` in UTC). Keep it in step with
//! `migrations/sqlite` and `migrations/postgres`; the migration tests check both.

diesel::table! {
    unit_overrides (code) {
        code -> Text,
        unit_json -> Nullable<Text>,
        disabled -> Bool,
        changed_at -> Timestamp,
        changed_by -> Text,
    }
}

diesel::table! {
    api_keys (id) {
        id -> BigInt,
        name -> Text,
        role -> Text,
        key_hash -> Text,
        created_at -> Timestamp,
        revoked_at -> Nullable<Timestamp>,
    }
}

diesel::table! {
    chain_heads (name) {
        name -> Text,
        seq -> BigInt,
        hash -> Binary,
    }
}

diesel::table! {
    audit_log (seq) {
        seq -> BigInt,
        at -> Timestamp,
        actor -> Text,
        action -> Text,
        target -> Text,
        detail -> Text,
        hash -> Binary,
    }
}

diesel::table! {
    records (id) {
        id -> Text,
        authority_code -> Text,
        decision_no -> Text,
        party -> Text,
        version -> BigInt,
        status -> Text,
        content_hash -> Binary,
        subject_kind -> Text,
        subject_name -> Text,
        subject_uscc -> Nullable<Text>,
        subject_id_index -> Nullable<Text>,
        violation_type -> Text,
        decision_date -> Date,
        fine_fen -> Nullable<BigInt>,
        publicity_until -> Date,
        publicity_min_until -> Date,
        canonical_json -> Text,
        created_at -> Timestamp,
        updated_at -> Timestamp,
        revoked_at -> Nullable<Timestamp>,
        revoked_by -> Nullable<Text>,
        revoke_reason -> Nullable<Text>,
        revoke_note -> Nullable<Text>,
        subject_id -> Nullable<Text>,
        conflict_id -> Nullable<Text>,
        conflict_role -> Nullable<Text>,
        repaired_at -> Nullable<Timestamp>,
        repaired_by -> Nullable<Text>,
        violation_code -> Nullable<Text>,
        violation_matched_by -> Nullable<Text>,
        violation_provision -> Nullable<Text>,
    }
}

diesel::table! {
    flags (id) {
        id -> Text,
        subject_id -> Text,
        rule_id -> Text,
        severity -> Text,
        status -> Text,
        basis_json -> Text,
        parties -> Text,
        effective_from -> Date,
        effective_until -> Date,
        version -> BigInt,
        created_at -> Timestamp,
        updated_at -> Timestamp,
    }
}

diesel::table! {
    exemptions (id) {
        id -> Text,
        authority_code -> Text,
        party -> Text,
        decision_no -> Text,
        subject_key_kind -> Text,
        subject_key_value -> Text,
        subject_kind -> Text,
        subject_name -> Text,
        violation_code -> Text,
        violation_type -> Text,
        decided_on -> Date,
        list_item -> Text,
        detail_json -> Text,
        created_by -> Text,
        created_at -> Timestamp,
    }
}

diesel::table! {
    flag_versions (flag_id, version) {
        flag_id -> Text,
        version -> BigInt,
        status -> Text,
        basis_json -> Text,
        effective_from -> Date,
        effective_until -> Date,
        cause -> Text,
        at -> Timestamp,
    }
}

diesel::table! {
    conflicts (id) {
        id -> Text,
        subject_id -> Text,
        violation_key -> Text,
        winner_record_id -> Text,
        status -> Text,
        resolution -> Nullable<Text>,
        resolution_note -> Nullable<Text>,
        resolved_by -> Nullable<Text>,
        resolved_at -> Nullable<Timestamp>,
        members_json -> Text,
        created_at -> Timestamp,
        updated_at -> Timestamp,
    }
}

diesel::table! {
    subjects (id) {
        id -> Text,
        key_kind -> Text,
        key_value -> Text,
        strong -> Bool,
        kind -> Text,
        party -> Text,
        name -> Text,
        linked_to -> Nullable<Text>,
        link_reason -> Nullable<Text>,
        linked_at -> Nullable<Timestamp>,
        created_at -> Timestamp,
        // names: an operator's unlink (never linked by name again).
        unlinked_at -> Nullable<Timestamp>,
    }
}

diesel::table! {
    subject_keys (key_kind, key_value) {
        key_kind -> Text,
        key_value -> Text,
        subject_id -> Text,
        created_at -> Timestamp,
    }
}

diesel::table! {
    subject_names (subject_id, name) {
        subject_id -> Text,
        name -> Text,
        first_seen -> Timestamp,
        // names: the matching keys of the name (normalize::names).
        match_key -> Text,
        match_core -> Nullable<Text>,
        match_chain -> Text,
    }
}

diesel::table! {
    record_versions (record_id, version) {
        record_id -> Text,
        version -> BigInt,
        content_hash -> Binary,
        // NULL for the current version: its JSON is the record's.
        canonical_json -> Nullable<Text>,
        submission_id -> BigInt,
        created_at -> Timestamp,
    }
}

diesel::table! {
    submissions (id) {
        id -> BigInt,
        batch_id -> Text,
        item_index -> BigInt,
        unit_code -> Text,
        received_at -> Timestamp,
        idempotency_key -> Nullable<Text>,
        // NULL when the item lives in its batch's body (`batch_ref`).
        raw_json -> Nullable<Text>,
        outcome -> Text,
        record_id -> Nullable<Text>,
        errors_json -> Nullable<Text>,
        batch_ref -> Nullable<BigInt>,
    }
}

diesel::table! {
    submission_batches (id) {
        id -> BigInt,
        batch_id -> Text,
        unit_code -> Text,
        received_at -> Timestamp,
        idempotency_key -> Nullable<Text>,
        encoding -> Text,
        item_ends -> Binary,
        body -> Binary,
    }
}

diesel::table! {
    idempotency_keys (unit_code, idem_key) {
        unit_code -> Text,
        idem_key -> Text,
        request_hash -> Text,
        response_json -> Text,
        created_at -> Timestamp,
    }
}

diesel::table! {
    events (seq) {
        seq -> BigInt,
        id -> Text,
        event_type -> Text,
        subject_id -> Text,
        record_id -> Nullable<Text>,
        flag_id -> Nullable<Text>,
        // The payload is the JWS's: `crypto::jws::payload_of`.
        jws -> Text,
        kid -> Text,
        created_at -> Timestamp,
    }
}

diesel::table! {
    delivery_cursors (connector) {
        connector -> Text,
        delivered_through -> BigInt,
        lease_owner -> Nullable<Text>,
        leased_until -> Nullable<Timestamp>,
        head_attempts -> BigInt,
        next_attempt_at -> Timestamp,
        last_error -> Nullable<Text>,
        last_status -> Nullable<BigInt>,
        sends -> BigInt,
        updated_at -> Timestamp,
    }
}

diesel::table! {
    delivery_rounds (connector, through) {
        connector -> Text,
        through -> BigInt,
        from_seq -> BigInt,
        delivered_at -> Timestamp,
    }
}

diesel::table! {
    delivery_exceptions (connector, event_seq) {
        connector -> Text,
        event_seq -> BigInt,
        event_id -> Text,
        subject_id -> Text,
        status -> Text,
        attempts -> BigInt,
        sends -> BigInt,
        next_attempt_at -> Timestamp,
        leased_until -> Nullable<Timestamp>,
        lease_owner -> Nullable<Text>,
        last_error -> Nullable<Text>,
        last_status -> Nullable<BigInt>,
        delivered_at -> Nullable<Timestamp>,
        created_at -> Timestamp,
    }
}

diesel::table! {
    collab_items (id) {
        id -> Text,
        kind -> Text,
        doc_no -> Text,
        sender -> Text,
        sender_party -> Text,
        receiver -> Text,
        receiver_party -> Text,
        approver -> Nullable<Text>,
        status -> Text,
        extension_pending -> Bool,
        subject_kind -> Text,
        subject_name -> Text,
        subject_key_kind -> Nullable<Text>,
        subject_key_value -> Nullable<Text>,
        violation_code -> Nullable<Text>,
        violation_type -> Text,
        place -> Text,
        detail_json -> Text,
        due_on -> Nullable<Date>,
        due_provisional -> Bool,
        overdue -> Bool,
        sent_on -> Nullable<Date>,
        received_on -> Nullable<Date>,
        answered_on -> Nullable<Date>,
        answered_late -> Nullable<Bool>,
        filed_on -> Nullable<Date>,
        case_no -> Nullable<Text>,
        record_id -> Nullable<Text>,
        conflict_id -> Nullable<Text>,
        steps -> BigInt,
        created_at -> Timestamp,
        updated_at -> Timestamp,
    }
}

diesel::table! {
    collab_steps (item_id, n) {
        item_id -> Text,
        n -> BigInt,
        step -> Text,
        actor_unit -> Nullable<Text>,
        actor -> Text,
        status_after -> Text,
        detail_json -> Text,
        on_day -> Date,
        at -> Timestamp,
    }
}

diesel::table! {
    collab_attachments (item_id, sha256) {
        item_id -> Text,
        sha256 -> Text,
        name -> Text,
        media_type -> Text,
        size -> BigInt,
        uploaded_by -> Text,
        created_at -> Timestamp,
    }
}

diesel::table! {
    collab_notices (unit, item_id, reason, due_on) {
        unit -> Text,
        item_id -> Text,
        reason -> Text,
        due_on -> Date,
        created_at -> Timestamp,
    }
}

diesel::table! {
    collab_events (seq) {
        seq -> BigInt,
        id -> Text,
        item_id -> Text,
        event_type -> Text,
        payload -> Text,
        jws -> Text,
        kid -> Text,
        created_at -> Timestamp,
    }
}

diesel::table! {
    collab_event_audience (unit, seq) {
        unit -> Text,
        seq -> BigInt,
    }
}

diesel::joinable!(collab_steps -> collab_items (item_id));
diesel::joinable!(collab_attachments -> collab_items (item_id));
diesel::joinable!(collab_event_audience -> collab_events (seq));
diesel::joinable!(record_versions -> records (record_id));
diesel::joinable!(delivery_exceptions -> events (event_seq));
diesel::joinable!(submissions -> submission_batches (batch_ref));
diesel::joinable!(subject_keys -> subjects (subject_id));
diesel::joinable!(subject_names -> subjects (subject_id));

diesel::allow_tables_to_appear_in_same_query!(
    conflicts,
    exemptions,
    flags,
    flag_versions,
    unit_overrides,
    api_keys,
    chain_heads,
    audit_log,
    records,
    record_versions,
    submissions,
    submission_batches,
    idempotency_keys,
    subjects,
    subject_names,
    subject_keys,
    events,
    delivery_cursors,
    delivery_exceptions,
    delivery_rounds,
    collab_items,
    collab_steps,
    collab_attachments,
    collab_notices,
    collab_events,
    collab_event_audience,
);

// The catalogue coverage per pushing unit groups submissions by records' columns.
diesel::allow_columns_to_appear_in_same_group_by_clause!(
    submissions::unit_code,
    records::violation_matched_by,
    records::violation_type,
);
