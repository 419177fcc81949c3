//! Prepare: normalize every item, resolve its deciding authority, check the caller's rights,
//! place it in the catalogue and seal personal data. No database.

use super::*;
fn prefixed(prefix: &str, issues: Vec<FieldIssue>) -> Vec<FieldIssue> {
    issues
        .into_iter()
        .map(|mut i| {
            i.pointer = format!("{prefix}{}", i.pointer);
            i
        })
        .collect()
}

fn pointer_of(located: &[(Field, String)], field: Field) -> Option<String> {
    located
        .iter()
        .find(|(f, _)| *f == field)
        .map(|(_, p)| p.clone())
}

/// Normalizes, resolves and seals every item. `pointer_prefix(i)` is where item `i` sits in the
/// submitted document (`/records/3`, or empty for a single record). `actor` is the pushing
/// unit; `None` only validates (no rights check).
pub fn prepare(
    items: &[Value],
    pointer_prefix: &dyn Fn(usize) -> String,
    ctx: &NormalizeContext,
    registry: &Registry,
    keyring: &PiiKeyring,
    actor: Option<&UnitCode>,
) -> Result<Vec<PreparedItem>, PrepareError> {
    let mut out = Vec::with_capacity(items.len());
    let mut forbidden = Vec::new();
    let divisions = Divisions::from_units(registry.units());
    for (index, raw) in items.iter().enumerate() {
        let prefix = pointer_prefix(index);
        let located = crate::normalize::fields::locate_fields(raw);
        let mut raw_sealed = raw.clone();
        let pii_pointers: Vec<String> = located
            .iter()
            .filter(|(f, _)| matches!(f, Field::SubjectIdNo | Field::LegalRepIdNo))
            .map(|(_, p)| p.clone())
            .collect();
        seal_pointers(keyring, &mut raw_sealed, &pii_pointers)?;
        let raw_sealed = raw_sealed.to_string();
        let item = match normalize_record(raw, ctx) {
            Err(errors) => Prepared::Rejected {
                index,
                errors: prefixed(&prefix, errors),
                warnings: Vec::new(),
            },
            Ok(n) => {
                let warnings = prefixed(&prefix, n.warnings);
                match resolve_authority(registry, &n.record) {
                    None => {
                        let pointer = pointer_of(&located, Field::AuthorityUscc)
                            .filter(|_| n.record.authority.uscc.is_some())
                            .or_else(|| pointer_of(&located, Field::AuthorityName))
                            .unwrap_or_else(|| Field::AuthorityName.pointer());
                        Prepared::Rejected {
                            index,
                            errors: vec![FieldIssue {
                                pointer: format!("{prefix}{pointer}"),
                                code: "unknown_authority".into(),
                                detail: format!(
                                    "deciding authority {:?}{} is not a registered unit; \
                                     expected the registered name or USCC of a member unit",
                                    n.record.authority.name_raw,
                                    n.record
                                        .authority
                                        .uscc
                                        .as_ref()
                                        .map(|u| format!(" ({u})"))
                                        .unwrap_or_default()
                                ),
                            }],
                            warnings,
                        }
                    }
                    Some(unit) => {
                        if let Some(actor) = actor
                            && !registry.may_act_for(actor, &unit.code)
                        {
                            forbidden.push(index);
                        }
                        let mut warnings = warnings;
                        let classified = ctx.catalog.classify(
                            unit.party,
                            &n.record.violation_type,
                            &n.record.legal_basis,
                        );
                        let classified = match classified {
                            Some(c) => Some((
                                c.violation.code.clone(),
                                c.matched_by.as_str().to_owned(),
                                c.provision,
                            )),
                            None => {
                                let pointer = pointer_of(&located, Field::ViolationType)
                                    .unwrap_or_else(|| Field::ViolationType.pointer());
                                warnings.push(FieldIssue {
                                    pointer: format!("{prefix}{pointer}"),
                                    code: IssueCode::UnmappedViolationType.as_str().into(),
                                    detail: format!(
                                        "violation type {:?} (legal basis {:?}) maps to no \
                                         type of the common catalogue for {}; kept as given, \
                                         compared across parties by its exact text",
                                        crate::normalize::issue::excerpt(&n.record.violation_type),
                                        crate::normalize::issue::excerpt(&n.record.legal_basis),
                                        unit.party.code()
                                    ),
                                });
                                None
                            }
                        };
                        let mut ready = seal_record(index, n.record, unit, warnings, keyring)?;
                        if let Some((code, by, provision)) = classified {
                            ready.violation_code = Some(code);
                            ready.violation_matched_by = Some(by);
                            ready.violation_provision = provision;
                        }
                        ready.name_keys = match_name(&ready.record.subject.name, &divisions);
                        Prepared::Ready(Box::new(ready))
                    }
                }
            }
        };
        out.push(PreparedItem { item, raw_sealed });
    }
    if !forbidden.is_empty() {
        return Err(PrepareError::Forbidden { indexes: forbidden });
    }
    Ok(out)
}

/// The registered unit a record names as its deciding authority: by USCC when given, else by
/// its registered (folded) name.
pub fn resolve_authority(registry: &Registry, record: &CanonicalRecord) -> Option<Unit> {
    record
        .authority
        .uscc
        .as_deref()
        .and_then(|u| registry.by_uscc(u))
        .or_else(|| registry.by_name(&record.authority.name))
        .cloned()
}

fn seal_record(
    index: usize,
    record: CanonicalRecord,
    authority: Unit,
    warnings: Vec<FieldIssue>,
    keyring: &PiiKeyring,
) -> Result<ReadyItem, CryptoError> {
    let mut doc = serde_json::to_value(&record).map_err(|_| CryptoError::Encrypt)?;
    seal_pointers(
        keyring,
        &mut doc,
        &[
            "/subject/id_no".to_owned(),
            "/subject/legal_rep/id_no".to_owned(),
        ],
    )?;
    let subject_id_index = match (&record.subject.id_type, &record.subject.id_no) {
        (Some(IdType::ResidentId), Some(id))
            if record.subject.kind == SubjectKind::NaturalPerson =>
        {
            Some(keyring.blind_index(KIND_RESIDENT_ID, id)?)
        }
        _ => None,
    };
    let other_document_index = match other_document(&record.subject) {
        Some((kind, no)) if record.subject.kind == SubjectKind::NaturalPerson => {
            Some(keyring.blind_index("id_document", &format!("{kind}|{no}"))?)
        }
        _ => None,
    };
    let keys = subject_keys(
        &record.subject,
        &SealedIds {
            resident_id: subject_id_index.clone(),
            other_document: other_document_index,
        },
        authority.party,
    );
    Ok(ReadyItem {
        index,
        record_id: record_id(&authority.code, &record.decision_no),
        sealed_json: doc.to_string(),
        content_hash: record.content_fingerprint(),
        subject_id_index,
        subject_keys: keys,
        violation_code: None,
        violation_matched_by: None,
        violation_provision: None,
        name_keys: NameKeys {
            key: record.subject.name.clone(),
            core: None,
            chain: String::new(),
        },
        record,
        authority,
        warnings,
    })
}
