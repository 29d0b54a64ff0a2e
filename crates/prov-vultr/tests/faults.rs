//! The fault matrix (prov_testkit::harness) for Vultr: the real client against the Vultr dialect with
//! one injected fault per case — recovery within the retry policy, or one clear error; never a second create.

use std::sync::Arc;

use prov_core::{CreateSpec, Provider, Secret};
use prov_sandbox::Dialect;
use prov_testkit::harness::Subject;
use prov_vultr::Vultr;
use prov_vultr::sandbox::VultrDialect;

fn dialect(images: Option<usize>) -> Arc<dyn Dialect> {
    match images {
        Some(n) => VultrDialect::new().with_image_count(n).shared(),
        None => VultrDialect::new().shared(),
    }
}

fn spec(label: &str) -> CreateSpec {
    CreateSpec {
        label: label.into(),
        region: "syd".into(),
        plan: "vc2-1c-1gb".into(),
        image: "2136".into(),
        tags: vec!["web".into()],
        user_data: Some(Secret::new("#cloud-config\n")),
        ..CreateSpec::default()
    }
}

const SUBJECT: Subject = Subject {
    info: &prov_vultr::INFO,
    dialect,
    connect: |s| Ok(Box::new(Vultr::new(s)?) as Box<dyn Provider>),
    spec,
    images_path: "/os",
};

prov_testkit::fault_matrix!(SUBJECT);
