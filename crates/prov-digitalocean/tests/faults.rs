//! The fault matrix (prov_testkit::harness) for DigitalOcean: the real client against the DigitalOcean
//! dialect with one injected fault per case — recovery within the retry policy, or one clear error; never a
//! second create.

use std::sync::Arc;

use prov_core::{CreateSpec, Provider, Secret};
use prov_digitalocean::DigitalOcean;
use prov_digitalocean::sandbox::DigitalOceanDialect;
use prov_sandbox::Dialect;
use prov_testkit::harness::Subject;

fn dialect(images: Option<usize>) -> Arc<dyn Dialect> {
    match images {
        Some(n) => DigitalOceanDialect::new().with_image_count(n).shared(),
        None => DigitalOceanDialect::new().shared(),
    }
}

fn spec(label: &str) -> CreateSpec {
    CreateSpec {
        label: label.into(),
        region: "sgp1".into(),
        plan: "s-1vcpu-1gb".into(),
        image: "ubuntu-24-04-x64".into(),
        tags: vec!["web".into()],
        user_data: Some(Secret::new("#cloud-config\n")),
        ..CreateSpec::default()
    }
}

const SUBJECT: Subject = Subject {
    info: &prov_digitalocean::INFO,
    dialect,
    connect: |s| Ok(Box::new(DigitalOcean::new(s)?) as Box<dyn Provider>),
    spec,
    images_path: "/images",
};

prov_testkit::fault_matrix!(SUBJECT);
