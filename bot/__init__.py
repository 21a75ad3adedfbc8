"""dks-bot: a Slack app for DKS and kulturskole coordinators."""
