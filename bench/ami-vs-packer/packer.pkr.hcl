# The benchmark job for Packer 1.6.6's amazon-ebs builder (bench/ami-vs-packer.sh passes the
# variables): boot the base AMI with user-data, snapshot it to an AMI, copy it to us-west-2, make it
# public, tag it. The same job as recipe.yaml.
#
# With communicator "none" Packer neither connects to the instance nor waits for the user-data: it
# stops the instance as soon as EC2 says it is running. The keys come from AWS_ACCESS_KEY_ID and
# AWS_SECRET_ACCESS_KEY; every EC2 call goes to custom_endpoint_ec2 (the counting proxy in front of
# moto), whatever the region. Nothing else is called: no STS (skip_credential_validation), no
# DescribeRegions (skip_region_validation), no instance metadata (skip_metadata_api_check, and
# AWS_EC2_METADATA_DISABLED in the environment).

variable "endpoint" { type = string }
variable "source_ami" { type = string }
variable "ami_name" { type = string }
variable "user_data_file" { type = string }

source "amazon-ebs" "bench" {
  region                     = "us-east-1"
  custom_endpoint_ec2        = var.endpoint
  skip_region_validation     = true
  skip_credential_validation = true
  skip_metadata_api_check    = true

  source_ami     = var.source_ami
  instance_type  = "t3.large"
  communicator   = "none"
  user_data_file = var.user_data_file

  ami_name    = var.ami_name
  ami_regions = ["us-west-2"]
  ami_groups  = ["all"]
  tags = {
    project = "kiln-bench"
  }
  snapshot_tags = {
    project = "kiln-bench"
  }
}

build {
  sources = ["source.amazon-ebs.bench"]
}
