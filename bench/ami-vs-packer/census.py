"""What a build left behind in moto, for bench/ami-vs-packer.sh. Talks to moto DIRECTLY (not through
the counting proxy) with boto3.

  census.py state MOTO_URL REGIONS > state.json
      Everything that can be left behind, per region (REGIONS comma-separated): instances and their
      state, security groups, key pairs, volumes, AMIs and snapshots owned by the account (with tags
      and launch permissions), and S3 buckets with their objects.
  census.py leftovers BASELINE.json AFTER.json PRODUCTS > leftovers.json
      What is new in AFTER compared with BASELINE (taken right after moto's reset: moto starts with
      its own default AMIs, their snapshots and a default security group per region), leaving out
      the products: PRODUCTS is "region=ami-…,region=ami-…", the AMIs the tool reported, and their
      snapshots are products too. Also reports, per product AMI, whether it is public and its tags."""
import json
import sys

REGIONS_DEFAULT = "us-east-1,us-west-2"


def state(moto, regions):
    import boto3
    key = dict(aws_access_key_id="AKIAKILNBENCHCENSUS1", aws_secret_access_key="census")
    out = {"regions": {}, "s3": {}}
    for region in regions:
        ec2 = boto3.client("ec2", endpoint_url=moto, region_name=region, **key)
        instances = [{"id": i["InstanceId"], "state": i["State"]["Name"]}
                     for r in ec2.describe_instances()["Reservations"] for i in r["Instances"]]
        groups = [{"id": g["GroupId"], "name": g["GroupName"],
                   "ingress": [{"from": p.get("FromPort"), "to": p.get("ToPort"), "protocol": p.get("IpProtocol"),
                                "cidrs": [c["CidrIp"] for c in p.get("IpRanges", [])]} for p in g.get("IpPermissions", [])]}
                  for g in ec2.describe_security_groups()["SecurityGroups"]]
        keys = [k["KeyName"] for k in ec2.describe_key_pairs()["KeyPairs"]]
        volumes = [{"id": v["VolumeId"], "state": v["State"]} for v in ec2.describe_volumes()["Volumes"]]
        images = []
        for image in ec2.describe_images(Owners=["self"])["Images"]:
            permissions = ec2.describe_image_attribute(ImageId=image["ImageId"], Attribute="launchPermission")
            images.append({"id": image["ImageId"], "name": image.get("Name"), "state": image.get("State"),
                           "tags": {t["Key"]: t["Value"] for t in image.get("Tags", [])},
                           "public": any(p.get("Group") == "all" for p in permissions.get("LaunchPermissions", [])),
                           "snapshots": [b["Ebs"]["SnapshotId"] for b in image.get("BlockDeviceMappings", [])
                                         if b.get("Ebs", {}).get("SnapshotId")]})
        snapshots = [{"id": s["SnapshotId"], "tags": {t["Key"]: t["Value"] for t in s.get("Tags", [])}}
                     for s in ec2.describe_snapshots(OwnerIds=["self"])["Snapshots"]]
        out["regions"][region] = {"instances": instances, "security_groups": groups, "key_pairs": keys,
                                  "volumes": volumes, "images": images, "snapshots": snapshots}
    s3 = boto3.client("s3", endpoint_url=moto, region_name=regions[0], **key)
    for bucket in s3.list_buckets().get("Buckets", []):
        objects = s3.list_objects_v2(Bucket=bucket["Name"]).get("Contents", [])
        out["s3"][bucket["Name"]] = sorted(o["Key"] for o in objects)
    return out


def leftovers(baseline, after, products):
    product_amis = {}
    for pair in filter(None, products.split(",")):
        region, _, ami = pair.partition("=")
        product_amis.setdefault(region, set()).add(ami)
    result = {"regions": {}, "products": {}, "s3_objects": []}
    for region, now in after["regions"].items():
        before = baseline["regions"].get(region, {})

        def new(kind, key=lambda x: x["id"]):
            seen = {key(x) for x in before.get(kind, [])}
            return [x for x in now.get(kind, []) if key(x) not in seen]

        mine = product_amis.get(region, set())
        product_snapshots = {s for image in now["images"] if image["id"] in mine for s in image["snapshots"]}
        left = {
            "instances": [i["id"] for i in new("instances") if i["state"] != "terminated"],
            "security_groups": [g["id"] for g in new("security_groups") if g["name"] != "default"],
            "key_pairs": new("key_pairs", key=lambda x: x),
            "volumes": [v["id"] for v in new("volumes") if v["state"] != "deleted"],
            "images": [i["id"] for i in new("images") if i["id"] not in mine and i["state"] != "deregistered"],
            "snapshots": [s["id"] for s in new("snapshots") if s["id"] not in product_snapshots],
        }
        result["regions"][region] = left
        for image in now["images"]:
            if image["id"] in mine:
                snapshot_tags = [s["tags"] for s in now["snapshots"] if s["id"] in image["snapshots"]]
                result["products"][region] = {"id": image["id"], "public": image["public"], "tags": image["tags"],
                                              "snapshot_tags": snapshot_tags}
    for bucket, keys in after["s3"].items():
        old = set(baseline["s3"].get(bucket, []))
        result["s3_objects"] += [f"s3://{bucket}/{k}" for k in keys if k not in old]
    return result


if __name__ == "__main__":
    command = sys.argv[1]
    if command == "state":
        regions = (sys.argv[3] if len(sys.argv) > 3 else REGIONS_DEFAULT).split(",")
        json.dump(state(sys.argv[2], regions), sys.stdout)
    elif command == "leftovers":
        with open(sys.argv[2]) as f:
            baseline = json.load(f)
        with open(sys.argv[3]) as f:
            after = json.load(f)
        json.dump(leftovers(baseline, after, sys.argv[4] if len(sys.argv) > 4 else ""), sys.stdout, indent=1)
    else:
        sys.exit(f"census.py: unknown command {command}")
