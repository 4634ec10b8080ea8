//! Every component type Weir knows, by kind and name: the one list behind `weir list`, config
//! parsing and validation. Plugins describe themselves with a [`ComponentSpec`]; this file only
//! collects them.

use weir_core::component::{ComponentKind, ComponentSpec};

/// All registered component specs.
pub fn all() -> Vec<ComponentSpec> {
    let mut specs = weir_sources::specs();
    specs.extend(weir_transforms::specs());
    specs.extend(weir_sinks::specs());
    specs
}

/// The spec of `type_name` among components of `kind`.
pub fn find(kind: ComponentKind, type_name: &str) -> Option<ComponentSpec> {
    all()
        .into_iter()
        .find(|s| s.parse.kind() == kind && s.type_name == type_name)
}

/// Type names of one kind, for "expected one of" messages.
pub fn names(kind: ComponentKind) -> Vec<&'static str> {
    let mut names: Vec<_> = all()
        .into_iter()
        .filter(|s| s.parse.kind() == kind)
        .map(|s| s.type_name)
        .collect();
    names.sort_unstable();
    names
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn type_names_are_unique_per_kind() {
        let specs = all();
        for (i, a) in specs.iter().enumerate() {
            for b in &specs[i + 1..] {
                assert!(
                    !(a.type_name == b.type_name && a.parse.kind() == b.parse.kind()),
                    "duplicate {}",
                    a.type_name
                );
            }
        }
        assert!(find(ComponentKind::Source, "file").is_some());
    }
}
