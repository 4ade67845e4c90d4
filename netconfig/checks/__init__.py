"""Checks of vendor renderings: each platform module (`cisco_ios`, `huawei_vrp`, `h3c_comware`)
exposes `check(text) -> list[Finding]`."""
