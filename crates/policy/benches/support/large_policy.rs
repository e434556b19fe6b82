//! A large, valid policy for benchmarks: `activities` processing activities over 40 declared
//! categories, 100 recipients (half outside the EEA) and 50 retention rules.

const CATEGORIES: [&str; 40] = [
    "user.name",
    "user.name.first",
    "user.name.last",
    "user.contact",
    "user.contact.email",
    "user.contact.phone_number",
    "user.contact.address",
    "user.contact.address.city",
    "user.contact.address.country",
    "user.contact.address.postal_code",
    "user.contact.address.street",
    "user.contact.url",
    "user.contact.organization",
    "user.account",
    "user.account.settings",
    "user.account.username",
    "user.authorization",
    "user.authorization.password",
    "user.behavior",
    "user.behavior.browsing_history",
    "user.behavior.purchase_history",
    "user.behavior.search_history",
    "user.content",
    "user.content.private",
    "user.content.public",
    "user.device",
    "user.device.cookie_id",
    "user.device.device_id",
    "user.device.ip_address",
    "user.financial",
    "user.financial.bank_account",
    "user.payment",
    "user.location",
    "user.location.imprecise",
    "user.telemetry",
    "user.unique_id",
    "user.workplace",
    "user.job_title",
    "user.demographic.language",
    "user.privacy_preferences",
];

const BASES: [&str; 4] = [
    "contract",
    "legitimate_interests",
    "legal_obligation",
    "consent",
];

pub fn generate(activities: usize) -> String {
    let mut out = String::from(
        r#"[notice]
last_updated = 2026-01-01

[controller]
name = "Benchmark Oy"
address = "Testikatu 1, 00100 Helsinki, Finland"
country = "FI"
email = "privacy@benchmark.example"
time_zone = "Europe/Helsinki"

[authority]
name = "Data Protection Ombudsman"
country = "FI"

[[subject]]
key = "customer"

[[subject]]
key = "prospect"
"#,
    );
    for key in CATEGORIES {
        out.push_str(&format!("\n[[category]]\nkey = \"{key}\"\n"));
    }
    for i in 0..100 {
        let (country, safeguard) = if i % 2 == 0 {
            ("US", "\nsafeguard = \"scc_2021_914\"")
        } else {
            ("DE", "")
        };
        out.push_str(&format!(
            "\n[[recipient]]\nid = \"provider-{i}\"\nname = \"Provider {i}\"\nrole = \"processor\"\npurpose = \"Hosting\"\ncountry = \"{country}\"{safeguard}\n"
        ));
    }
    for i in 0..50 {
        out.push_str(&format!(
            "\n[[retention]]\nid = \"rule-{i}\"\nkeep = \"{} days\"\nafter = \"contract_end\"\nlaw = \"Accounting Act\"\n",
            30 + i
        ));
    }
    out.push_str("\n[security]\nmeasures = [\"Access control by role\"]\n");
    out.push_str("\n[[retention]]\nid = \"no-purpose-left\"\nkeep = \"3 months\"\nafter = \"collected\"\nfallback = true\n");
    for i in 0..activities {
        let basis = BASES[i % BASES.len()];
        let extra = match basis {
            "legitimate_interests" => "\nlegitimate_interest = \"Running the business.\"",
            "legal_obligation" => "\nlaw = \"Accounting Act\"",
            "consent" => "\nwithdrawal = \"Unsubscribe link.\"",
            _ => "",
        };
        let categories: Vec<String> = (0..5)
            .map(|k| format!("\"{}\"", CATEGORIES[(i * 7 + k * 3) % 40]))
            .collect();
        out.push_str(&format!(
            "\n[[activity]]\nid = \"activity-{i}\"\npurpose = \"Purpose number {i}\"\nbasis = \"{basis}\"{extra}\nrole = \"controller\"\nsubjects = [\"customer\", \"prospect\"]\ncategories = [{}]\nsources = [\"subject\", \"service_use\"]\nrecipients = [\"provider-{}\", \"provider-{}\"]\nretention = [\"rule-{}\"]\n",
            categories.join(", "),
            i % 100,
            (i * 3 + 1) % 100,
            i % 50
        ));
    }
    out
}
