#!/usr/bin/python3
"""Nova's and Placement's own code run against what esfm writes (tests only).

  nova-tool.py validate DIR          nova.compute.provider_config.get_provider_configs(DIR):
                                     prints "CLASS total reserved max_unit" per class, then the
                                     traits; exit 1 with Nova's message when it refuses the files
  nova-tool.py placement FILE CLASS  an in-process Placement (placement.direct, SQLite): a
                                     resource provider with FILE's inventory of CLASS, then
                                     single-unit allocations by new consumers until one is
                                     refused; prints "accepted N refused HTTP-STATUS"
  nova-tool.py meta NAME FLAVOR      <nova:instance> as Nova 26 writes it into a domain's
                                     <metadata> (nova.virt.libvirt.config LibvirtConfigGuestMetaNova*)

Run with Debian's /usr/bin/python3 (python3-nova, python3-placement).
"""
import os
import sys
import uuid


def validate(d):
    from nova import exception
    from nova.compute import provider_config
    try:
        cfgs = provider_config.get_provider_configs(d)
    except exception.ProviderConfigException as e:
        print("refused: %s" % e)
        return 1
    for ident, p in sorted(cfgs.items()):
        for inv in p.get("inventories", {}).get("additional", []):
            for cls, v in sorted(inv.items()):
                print("%s total %s reserved %s max_unit %s min_unit %s step_size %s "
                      "allocation_ratio %s" % (cls, v["total"], v.get("reserved"),
                                               v.get("max_unit"), v.get("min_unit"),
                                               v.get("step_size"), v.get("allocation_ratio")))
        for t in p.get("traits", {}).get("additional", []):
            print("trait %s" % t)
    return 0


def placement(path, cls):
    import logging
    import yaml
    from oslo_config import cfg
    from placement import conf as pconf
    from placement import direct

    with open(path) as f:
        doc = yaml.safe_load(f)
    inv = None
    for p in doc.get("providers", []):
        for add in p.get("inventories", {}).get("additional", []):
            inv = add.get(cls, inv)
    if inv is None:
        print("no class %s in %s" % (cls, path))
        return 1
    # Placement's over-capacity warnings are what the test provokes: only the outcome is printed.
    logging.disable(logging.WARNING)
    conf = cfg.ConfigOpts()
    pconf.register_opts(conf)
    conf.set_override("connection", "sqlite://", group="placement_database")
    conf.set_override("sync_on_startup", True, group="placement_database")
    conf([], default_config_files=[])
    with direct.PlacementDirect(conf, latest_microversion=True) as client:
        rp = str(uuid.uuid4())
        r = client.post("/resource_providers", json={"name": "esfm-test-host", "uuid": rp})
        if r.status_code not in (200, 201):
            print("cannot create the provider: %s %s" % (r.status_code, r.text))
            return 1
        r = client.put("/resource_classes/%s" % cls)
        if r.status_code not in (201, 204):
            print("cannot create class %s: %s %s" % (cls, r.status_code, r.text))
            return 1
        body = {"resource_provider_generation": 0, "inventories": {cls: inv}}
        r = client.put("/resource_providers/%s/inventories" % rp, json=body)
        if r.status_code != 200:
            print("inventory refused: %s %s" % (r.status_code, r.text))
            return 1
        accepted = 0
        while accepted <= inv["total"] + 1:
            consumer = str(uuid.uuid4())
            body = {"allocations": {rp: {"resources": {cls: 1}}},
                    "project_id": str(uuid.uuid4()), "user_id": str(uuid.uuid4()),
                    "consumer_generation": None, "consumer_type": "INSTANCE"}
            r = client.put("/allocations/%s" % consumer, json=body)
            if r.status_code != 204:
                print("accepted %d refused %d" % (accepted, r.status_code))
                if r.status_code != 409:
                    sys.stderr.write(r.text + "\n")
                return 0
            accepted += 1
        print("accepted %d refused none" % accepted)
        return 0


def meta(name, flavor):
    from lxml import etree
    from nova.virt.libvirt import config as vconfig

    m = vconfig.LibvirtConfigGuestMetaNovaInstance()
    m.package = "26.2.2"
    m.name = name
    m.creationTime = 1764100000
    m.roottype = "image"
    m.rootid = "c4bd5a8e-2d1b-4cf1-9f8e-5c9b1d1c8a11"
    f = vconfig.LibvirtConfigGuestMetaNovaFlavor()
    f.name = flavor
    f.memory = 2048
    f.disk = 20
    f.swap = 0
    f.ephemeral = 0
    f.vcpus = 2
    m.flavor = f
    o = vconfig.LibvirtConfigGuestMetaNovaOwner()
    o.userid = "5d5c1f1e-0c1d-4b61-8b4a-3f1f0e2d9a01"
    o.username = "demo"
    o.projectid = "8e0c2c4a-6f0e-4d1f-9a55-1f0b1f2d3c04"
    o.projectname = "demo"
    m.owner = o
    port = vconfig.LibvirtConfigGuestMetaNovaPort("2b8a6f4e-8c2e-4a55-b0a5-7c2b9d6e1f12")
    port.ips = [vconfig.LibvirtConfigGuestMetaNovaIp("fixed", "10.0.0.5", "4")]
    m.ports = vconfig.LibvirtConfigGuestMetaNovaPorts([port])
    sys.stdout.write(etree.tostring(m.format_dom(), encoding="unicode"))
    return 0


def main(argv):
    if len(argv) == 3 and argv[1] == "validate":
        return validate(argv[2])
    if len(argv) == 4 and argv[1] == "placement":
        return placement(argv[2], argv[3])
    if len(argv) == 4 and argv[1] == "meta":
        return meta(argv[2], argv[3])
    sys.stderr.write(__doc__)
    return 2


if __name__ == "__main__":
    sys.exit(main(sys.argv))
