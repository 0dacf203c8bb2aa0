//! NetworkManager's objects as a peer on the bus could send them: the bytes are a D-Bus
//! message body of `GetManagedObjects`' type `a{oa{sa{sv}}}` (little-endian), decoded as zbus
//! decodes a reply, then kept as `Objects` and turned into facts; the same dictionaries are
//! applied again as `InterfacesAdded` and `PropertiesChanged`, and removed. Never a panic.
#![no_main]

use std::collections::HashMap;

use libfuzzer_sys::fuzz_target;
use wait_online::core::networkmanager::NetworkManagerFacts;
use wait_online::networkmanager::objects::{Objects, Properties};
use zbus::OwnedObjectPath;
use zbus::wire::LE;
use zbus::wire::serialized::{Context, Data};

type Managed = HashMap<OwnedObjectPath, HashMap<String, Properties>>;

fuzz_target!(|data: &[u8]| {
    let body = Data::new(data, Context::new(LE, 0));
    let Ok((managed, _)) = body.deserialize::<Managed>() else {
        return;
    };
    let managed: HashMap<String, HashMap<String, Properties>> = managed
        .into_iter()
        .map(|(path, interfaces)| (path.as_str().to_string(), interfaces))
        .collect();
    let mut objects = Objects::from_managed(&managed);
    let mut facts = NetworkManagerFacts::default();
    objects.apply_to(&mut facts);
    for (path, interfaces) in &managed {
        objects.add(path, interfaces);
        for (interface, properties) in interfaces {
            objects.change(path, interface, properties);
        }
    }
    objects.apply_to(&mut facts);
    for (path, interfaces) in &managed {
        let names: Vec<String> = interfaces.keys().cloned().collect();
        objects.remove(path, &names);
    }
    objects.apply_to(&mut facts);
});
