//! Rules of the `behaviour` group: judgements over what a package *did* in the
//! sandbox (`ossprey-model::dynamic`), not over its files. IDs start with `DYN-`.
//!
//! A behaviour rule is also a [`Rule`] (so `ossprey rules`, the docs and the fixture
//! test list it beside the static rules), but its static [`Rule::check`] does nothing:
//! its findings come from [`BehaviourRule::check_behaviour`], which
//! [`crate::fusion::fuse`] calls once the sandbox has run. Evidence of a behaviour
//! finding is the recorded event (`evidence.event`, with its `phase`) plus a one-line
//! human summary (`evidence.snippet`).
//!
//! Rules read events only. They must never look at the host, and must tell the
//! package's own processes from the driver's (pip, npm, the import helper): see
//! [`events::PackageProcesses`].

pub mod delete_user_files;
pub mod dns_tunnel;
pub mod download_execute;
pub mod env_capture_network;
pub mod evasion_check;
pub(crate) mod events;
pub mod honeytoken_egress;
pub mod honeytoken_read;
pub mod hook_spawns_shell;
pub mod install_import_network;
pub mod outlives_phase;
pub mod persistence_write;
pub mod raw_ip_connect;
pub mod recon_commands;
pub mod write_outside_package;

use ossprey_model::{DynamicResult, Ecosystem, Finding, ManifestFacts, PackageRef};

use crate::Rule;

/// What a behaviour rule sees: the sandbox's events and who the package is.
#[derive(Clone, Copy, Debug)]
pub struct BehaviourInput<'a> {
    /// The package's identity (registry, or the manifest's when the target was local).
    pub package: Option<&'a PackageRef>,
    /// The manifest, when static analysis read one (install hooks, name).
    pub manifest: Option<&'a ManifestFacts>,
    /// Everything the sandbox recorded.
    pub dynamic: &'a DynamicResult,
}

impl BehaviourInput<'_> {
    /// The package's ecosystem, when known.
    pub fn ecosystem(&self) -> Option<Ecosystem> {
        self.package.map(|p| p.ecosystem)
    }

    /// The package's name, when known (registry identity first, then the manifest's).
    pub fn name(&self) -> Option<&str> {
        self.package
            .map(|p| p.name.as_str())
            .or_else(|| self.manifest.and_then(|m| m.name.as_deref()))
    }
}

/// A rule over the sandbox's events.
pub trait BehaviourRule: Rule {
    /// Appends this rule's findings about what the package did to `out`.
    fn check_behaviour(&self, input: &BehaviourInput<'_>, out: &mut Vec<Finding>);
}

/// Implements [`Rule`] for a behaviour rule: id, category, summary, and a static
/// `check` that finds nothing (behaviour rules have no file facts to read).
macro_rules! behaviour_rule {
    ($ty:ty, $id:literal, $category:expr, $summary:literal) => {
        impl $crate::Rule for $ty {
            fn id(&self) -> &'static str {
                $id
            }
            fn category(&self) -> ossprey_model::Category {
                $category
            }
            fn summary(&self) -> &'static str {
                $summary
            }
            fn check(&self, _: &$crate::Input<'_>, _: &mut Vec<ossprey_model::Finding>) {}
        }
    };
}
pub(crate) use behaviour_rule;

/// Every behaviour rule, in a stable order.
pub static RULES: &[&dyn BehaviourRule] = &[
    &honeytoken_egress::HoneytokenEgress,
    &honeytoken_read::HoneytokenRead,
    &env_capture_network::EnvCaptureNetwork,
    &install_import_network::InstallImportNetwork,
    &dns_tunnel::DnsTunnel,
    &raw_ip_connect::RawIpConnect,
    &hook_spawns_shell::HookSpawnsShell,
    &recon_commands::ReconCommands,
    &download_execute::DownloadExecute,
    &persistence_write::PersistenceWrite,
    &write_outside_package::WriteOutsidePackage,
    &delete_user_files::DeleteUserFiles,
    &outlives_phase::OutlivesPhase,
    &evasion_check::EvasionCheck,
];

/// Runs every behaviour rule over `input`, at most
/// [`crate::MAX_FINDINGS_PER_RULE`] findings per rule (the most severe).
pub fn run(input: &BehaviourInput<'_>) -> Vec<Finding> {
    let mut findings = Vec::new();
    for rule in RULES {
        let before = findings.len();
        rule.check_behaviour(input, &mut findings);
        crate::cap_per_rule(&mut findings, before);
    }
    findings
}
