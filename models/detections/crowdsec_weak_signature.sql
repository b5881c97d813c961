{#- A request that matches a rule of CrowdSec's hub that the quality gate caught matching benign
    requests (secmon/core/classify/data/gate.csv): it alerts, at medium severity, and never bans. -#}
{{ hub_signature_alerts(bans=false, window=var('crowdsec_weak_signature_window')) }}
