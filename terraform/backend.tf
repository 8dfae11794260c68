# The state lives in the bucket terraform/bootstrap/ creates (versioned, only the deployer and
# operators can read it). Bucket and prefix are given at init, so that one configuration serves
# any deployment:
#   terraform init -backend-config="bucket=MY-SHOP-tfstate" -backend-config="prefix=catalogist"
# (.github/workflows/terraform.yml passes the same two values.)
terraform {
  backend "gcs" {}
}
