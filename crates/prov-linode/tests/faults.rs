//! The fault matrix (prov_testkit::harness) for Linode: the real client against the Linode dialect with
//! one injected fault per case — recovery within the retry policy, or one clear error; never a second create.

use std::sync::Arc;

use prov_core::{CreateSpec, Provider, Secret};
use prov_linode::Linode;
use prov_linode::sandbox::LinodeDialect;
use prov_sandbox::Dialect;
use prov_testkit::harness::Subject;

fn dialect(images: Option<usize>) -> Arc<dyn Dialect> {
    match images {
        Some(n) => LinodeDialect::new().with_image_count(n).shared(),
        None => LinodeDialect::new().shared(),
    }
}

fn spec(label: &str) -> CreateSpec {
    CreateSpec {
        label: label.into(),
        region: "ap-southeast".into(),
        plan: "g6-nanode-1".into(),
        image: "linode/debian12".into(),
        tags: vec!["web".into()],
        root_password: Some(Secret::new("Fault-Matrix-Pass-9")),
        user_data: Some(Secret::new("#cloud-config\n")),
        ..CreateSpec::default()
    }
}

const SUBJECT: Subject = Subject {
    info: &prov_linode::INFO,
    dialect,
    connect: |s| Ok(Box::new(Linode::new(s)?) as Box<dyn Provider>),
    spec,
    images_path: "/images",
};

prov_testkit::fault_matrix!(SUBJECT);
