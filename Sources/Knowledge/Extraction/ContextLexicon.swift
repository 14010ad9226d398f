import ECGCore

/// A context word or phrase of a report and what it does to the mentions around it.
enum Cue: Sendable, Hashable {
    /// Scope direction: before the mention it modifies, after it, or either.
    enum Direction: Sendable, Hashable { case pre, post, both }

    case assertion(Assertion, Direction)
    case acuity(String, Direction)
    case severity(String)
    case location(String)
    /// `chest leads`, `limb leads`, `brustwandableitungen`: a lead group.
    case leadGroup([StandardLead])
    /// A word that ends the scope of pre-cues (`but`, `aber`, `however`).
    case scopeBreak
    /// A generic statement about the next finding, not a finding of this ECG
    /// (`this is most commonly due to ischaemic heart disease`): the next mention is dropped.
    case generic
}

/// The language rules of the extractor: English, German and Swedish cue phrases seen in the
/// PTB-XL reports (folds 1–8), normalised to English attribute values.
enum ContextLexicon {
    static let entries: [(String, Cue)] = {
        var list: [(String, Cue)] = []
        func add(_ cue: Cue, _ phrases: String) {
            for phrase in phrases.split(separator: ";") {
                let text = String(phrase).trimmingWhitespace()
                if !text.isEmpty { list.append((text, cue)) }
            }
        }
        // Negation.
        add(
            .assertion(.negated, .pre),
            """
            no;not;without;absence of;absent;free of;negative for;rules out;no evidence of;no sign of;no signs of;
            no definite;no significant;no diagnostic;no specific;no features of;no longer;there is no;there are no;
            kein;keine;keinen;keiner;keines;ohne;nicht;kein hinweis auf;keine zeichen;keine zeichen einer;
            kein anhalt für;keine hinweise auf;ausschluss;nein;ej;inga;ingen;utan
            """)
        add(
            .assertion(.negated, .post),
            """
            not seen;not present;is absent;are absent;ausgeschlossen;nicht nachweisbar;nicht mehr nachweisbar;
            no longer present;no longer seen;has resolved;resolved;not confirmed;nicht bestätigt
            """)
        // Uncertainty.
        add(
            .assertion(.uncertain, .pre),
            """
            possible;possibly;probable;probably;likely;consider;considered;cannot rule out;cannot exclude;
            can not exclude;can't exclude;cant exclude;can't rule out;cant rule out;cannot entirely exclude;could be;may be;might be;may represent;suggests;suggest;suggesting;suggestive of;
            borderline;questionable;suspected;suspicious for;suspicion of;rule out;r/o;query;equivocal;
            mögliche;möglicher;mögliches;möglichen;möglicherweise;wahrscheinlich;wahrscheinliche;wahrscheinlicher;
            vermutlich;verdacht auf;v.a.;va;fraglich;fragliche;fraglicher;fragliches;eventuell;evtl;evtl.;
            grenzwertig;grenzwertige;grenzwertiger;am ehesten;nicht sicher;dd;differentialdiagnostisch;
            angedeutet;angedeutete;angedeuteter;diskrete zeichen;
            sannolikt;möjlig;möjligt;misstänkt;tänkbar
            """)
        add(
            .assertion(.uncertain, .post),
            """
            möglich;mögl;mögl.;nicht auszuschliessen;nicht auszuschließen;nicht ausgeschlossen;nicht sicher auszuschliessen;
            cannot be excluded;can not be excluded;cannot be entirely excluded;cannot be ruled out;not excluded;is possible;is likely;
            is a possible cause;should be considered;is suggested;are suggested;not certain;uncertain;
            bör övervägas;kan ej uteslutas;kan inte uteslutas;ej säker
            """)
        // History.
        add(
            .assertion(.historical, .pre),
            """
            history of;h/o;previous;previously;prior;known;past;status nach;zustand nach;z.n.;zn;s.p.;
            anamnestisch;anamnestischer;anamnestische;bekannter;bekannte;bekanntes;vorbekannter;vorbekannte;
            früherer;frühere;tidigare;känd
            """)
        add(.assertion(.historical, .post), "in der anamnese;by history;anamnestisch bekannt")
        // Acuity.
        add(.acuity("old", .pre), "alter;alte;alten;älterer;ältere;chron;chron.;chronischer;chronische;chronic;äldre")
        add(
            .acuity("old", .post),
            """
            alt;wahrscheinlich alt;probably old;possibly old;likely old;älter;sannolikt äldre;chronisch;
            wahrscheinlich älter
            """)
        add(.acuity("acute", .pre), "acute;akuter;akute;akutes;frischer;frische;frisches;hyperacute")
        add(.acuity("acute", .post), "akut;mögl. akut;mögl akut;möglicherweise akut;possibly acute;probably acute;wahrscheinlich akut;frisch;akut möglich")
        add(.acuity("old", .both), "old")
        add(.acuity("recent", .pre), "recent;recently;subakuter;subakute;subacute;kürzlicher")
        add(.acuity("recent", .post), "subakut;recent;age recent")
        add(
            .acuity("age undetermined", .post),
            """
            alter unbest;alter unbest.;alter unbestimmt;alter unbestimmbar;age undetermined;of undetermined age;
            age indeterminate;of indeterminate age;indeterminate age;the age of the changes is uncertain;
            ålder ej bestämmbar;alter nicht bestimmbar
            """)
        // Severity (normalised to mild / moderate / marked).
        add(
            .severity("mild"),
            """
            mild;mildly;minor;slight;slightly;minimal;small;subtle;leicht;leichte;leichter;leichtes;gering;geringe;
            geringer;geringgradig;geringgradige;diskret;diskrete;diskreter;lätt;lätta;discrete;minimale;minimal
            """)
        add(.severity("moderate"), "moderate;moderately;mässig;mässige;mässiger;mäßig;mäßige;mittelgradig;mittelgradige;måttlig")
        add(
            .severity("marked"),
            """
            marked;markedly;severe;significant;significantly;deep;deeply;pronounced;prominent;deutlich;deutliche;
            deutlicher;ausgeprägt;ausgeprägte;ausgeprägter;stark;starke;tief;tiefe;tiefes;hochgradig;hochgradige;
            signifikant;signifikante;signifikantes;kräftig;uttalad;uttalade
            """)
        // Location (normalised to English).
        let locations: [(String, String)] = [
            ("anterior", "anterior;anteriorer;anteriore;anterioren;anteriores;vorderwand;anterior wall;anterioren ableitungen;anterior leads;framvägg"),
            ("inferior", "inferior;inferiorer;inferiore;inferioren;inferiores;hinterwand;inferior wall;inferioren ableitungen;inferior leads;diaphragmal"),
            ("lateral", "lateral;lateraler;laterale;lateralen;laterales;seitenwand;lateral wall;lateralen ableitungen;lateral leads"),
            ("high lateral", "high lateral;hochlateral;hochlateraler;hochlaterale;hochlateralen;hög lateral"),
            ("septal", "septal;septaler;septale;septalen;septum;septal leads"),
            ("anteroseptal", "anteroseptal;anteroseptaler;anteroseptale;anteroseptalen;anteroseptal leads"),
            ("anterolateral", "anterolateral;anterolateraler;anterolaterale;anterolateralen;anterolateral leads;antero-lateral"),
            ("inferolateral", "inferolateral;inferolateraler;inferolaterale;inferolateralen;infero-lateral;inferolateral leads"),
            ("posterior", "posterior;posteriorer;posteriore;posterioren;posterior wall;strikt posterior;true posterior"),
            ("inferoposterior", "inferoposterior;inferoposteriorer;inferoposteriore;infero-posterior;posteroinferior"),
            ("apical", "apical;apikal;apikaler;apikale;spitze;herzspitze;vorderwandspitze"),
            ("extensive anterior", "extensive anterior;ausgedehnter vorderwand;ausgedehnte anteriore"),
        ]
        for (value, phrases) in locations { add(.location(value), phrases) }
        add(.leadGroup(StandardLead.precordialLeads), "chest leads;precordial leads;brustwandableitungen;v leads;brustwand;bröstavledningar")
        add(.leadGroup(StandardLead.limbLeads), "limb leads;extremitätenableitungen;extremity leads;extremitätenabl;extremitetsavledningar")
        add(.scopeBreak, "but;however;aber;jedoch;whereas;otherwise;sonst;eljest;men")
        // Negated words that are not findings of the ontology: they end a negation's scope.
        add(
            .scopeBreak,
            """
            keine p-welle erkannt;keine p-wellen erkannt;keine p-welle;keine p-wellen;no p waves;no p waves seen;
            no change;no significant change;no change since;no definite change;keine änderung;unverändert;unchanged;
            nicht beurteilbar;nicht sicher beurteilbar;not assessable;cannot be assessed
            """)
        add(.generic, "most commonly due to;is most commonly due to;this is most commonly due to;commonly due to;typically due to")
        return list
    }()

    /// Tokens after which a period does not end a clause (`v.a.`, `mögl.`, `unbest.` …), folded.
    static let abbreviationTokens: Set<String> = [
        "v", "a", "mogl", "unbest", "chron", "intraventr", "neg", "wahrsch", "ca", "bzw", "vs", "z", "n", "s", "p",
        "li", "re", "supraventr", "vent", "ventr", "biphas", "max", "min", "nr", "evtl", "inkompl", "kompl", "pos",
        "path", "ggf", "bzgl", "u", "vh", "vd", "li", "abl", "e", "g", "i", "ii", "iii", "1", "2", "3", "st",
    ]

    /// Tokens that join mentions into one scope (`and`, `or`, `und` …), folded.
    static let conjunctionTokens: Set<String> = ["and", "or", "und", "oder", "sowie", "nor", "och", "eller", "as", "well", "bzw", "plus", "u"]

    /// Tokens announcing a lead list (`in`, `lead`, `ableitung` …), folded.
    static let leadIntroducers: Set<String> = [
        "in", "lead", "leads", "ableitung", "ableitungen", "abl", "uber", "ueber", "avledning", "avledningar",
    ]
}
