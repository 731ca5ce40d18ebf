# Which repository files make up one function's deploy package, as a map of
# archive path => absolute source path. Provider-free on purpose: the tests
# evaluate it with `terraform console` offline and compare it with
# shared/deploy_package.py, which reads the same deploy-package.json.

variable "repo_root" {
  description = "Absolute path of the repository root."
  type        = string

  validation {
    condition     = startswith(var.repo_root, "/") || can(regex("^[A-Za-z]:[\\\\/]", var.repo_root))
    error_message = "repo_root must be an absolute path."
  }
}

variable "function_dir" {
  description = "The function's folder under functions/ (its main.py becomes the archive's main.py)."
  type        = string

  validation {
    condition     = can(regex("^[a-z][a-z0-9_]*$", var.function_dir))
    error_message = "function_dir must be a folder name under functions/, such as ingest."
  }
}

locals {
  rules = jsondecode(file("${path.module}/deploy-package.json"))

  source_dirs = [
    for rule in local.rules.sources :
    "${var.repo_root}/${replace(rule.from, "{function}", var.function_dir)}"
  ]

  files = merge([
    for index, rule in local.rules.sources : {
      for relative in setsubtract(
        toset(flatten([for pattern in rule.include : tolist(fileset(local.source_dirs[index], pattern))])),
        toset(flatten([for pattern in rule.exclude : tolist(fileset(local.source_dirs[index], pattern))])),
      ) : "${rule.to}${relative}" => "${local.source_dirs[index]}/${relative}"
    }
  ]...)
}

output "files" {
  description = "Archive path => absolute source path."
  value       = local.files

  precondition {
    condition     = contains(keys(local.files), "main.py") && contains(keys(local.files), "requirements.txt")
    error_message = "The deploy package needs main.py and requirements.txt at its root: is functions/${var.function_dir}/main.py there?"
  }
}
