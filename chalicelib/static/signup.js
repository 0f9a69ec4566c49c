/* Burgernet signup page: step 1 POSTs signup, step 2 POSTs signup/verify (docs/signup.md).
   Plain JavaScript, no build step, no external files. */
(function () {
  "use strict";

  // Every text of the page, per language. The HTML carries the Dutch ones for the first paint.
  // Keep this object valid JSON between the markers: tests/integration/test_signup_page.py reads it.
  const TEXTS = /* TEXTS-BEGIN */ {
    "nl": {
      "title": "Aanmelden bij Burgernet",
      "skip": "Direct naar het formulier",
      "switch": "English",
      "heading": "Aanmelden bij Burgernet",
      "intro": "Burgernet is een samenwerking tussen politie, gemeente en inwoners. Is er bij u in de buurt een inbraak, overval of wordt er iemand vermist? Dan krijgt u een bericht met een beschrijving. Ziet u de persoon of het voertuig, bel dan gratis 0800-0011.",
      "step1_title": "Stap 1 van 2: uw gegevens",
      "phone_label": "Telefoonnummer",
      "phone_hint": "Bijvoorbeeld 06-12345678. Hierop krijgt u de berichten.",
      "birth_date_label": "Geboortedatum",
      "birth_date_hint": "U moet 16 jaar of ouder zijn. We bewaren alleen dát u oud genoeg bent, niet uw geboortedatum.",
      "places_legend": "Uw adressen",
      "places_hint": "U krijgt een bericht als er iets gebeurt in de buurt van een van deze adressen. U kunt er maximaal 5 opgeven.",
      "place_home": "Thuisadres",
      "place_work": "Werkadres",
      "place_school": "Adres van school",
      "place_family": "Adres van familie",
      "place_other": "Ander adres",
      "postcode_label": "Postcode",
      "house_number_label": "Huisnummer",
      "addition_label": "Toevoeging (niet verplicht)",
      "remove_place": "Dit adres verwijderen",
      "add_work": "Werkadres toevoegen",
      "add_other": "Nog een adres toevoegen",
      "channel_legend": "Hoe wilt u de berichten krijgen?",
      "channel_hint": "Met een vast telefoonnummer kiest u ‘gebeld worden’.",
      "channel_sms": "Sms",
      "channel_voice": "Gebeld worden (een ingesproken bericht)",
      "quiet_legend": "Niet bellen tussen (niet verplicht)",
      "quiet_hint": "In deze uren bellen we u niet. Met een mobiel nummer krijgt u dan een sms. Wordt er een kind vermist, dan bellen we altijd.",
      "quiet_from": "Van",
      "quiet_to": "Tot",
      "language_note": "U krijgt de berichten in het Nederlands. Wilt u ze in het Engels? Kies dan bovenaan ‘English’.",
      "submit": "Stuur mij een code",
      "step2_title": "Stap 2 van 2: bevestig uw telefoonnummer",
      "code_label": "Code van 6 cijfers",
      "code_hint": "We hebben een code gestuurd naar {phone}. De code is {minutes} minuten geldig.",
      "confirm": "Bevestigen",
      "back": "Terug naar uw gegevens",
      "done_title": "U bent aangemeld",
      "done_text": "Vanaf nu krijgt u een bericht als de politie in uw buurt uw hulp vraagt. Wilt u stoppen? Antwoord dan STOP op een bericht van Burgernet.",
      "noscript": "Zet JavaScript aan om u aan te melden.",
      "no_municipality": "Deze pagina hoort bij een gemeente. Open hem via de link op de website van uw gemeente.",
      "network_error": "Er is geen verbinding met Burgernet. Controleer uw internetverbinding en probeer het opnieuw.",
      "server_error": "Er ging iets mis aan onze kant. Probeer het over een paar minuten opnieuw.",
      "start_again": "Vraag hieronder een nieuwe code aan.",
      "attempts_left": "U kunt het nog {n} keer proberen.",
      "statement": "Toegankelijkheid"
    },
    "en": {
      "title": "Sign up for Burgernet",
      "skip": "Skip to the form",
      "switch": "Nederlands",
      "heading": "Sign up for Burgernet",
      "intro": "Burgernet is a partnership of the police, your municipality and residents. Is there a burglary or robbery near you, or has someone gone missing? Then you receive a message with a description. If you see the person or vehicle, call 0800-0011 free of charge.",
      "step1_title": "Step 1 of 2: your details",
      "phone_label": "Phone number",
      "phone_hint": "For example 06-12345678. This is where you receive the messages.",
      "birth_date_label": "Date of birth",
      "birth_date_hint": "You must be 16 or older. We only keep the fact that you are old enough, not your date of birth.",
      "places_legend": "Your addresses",
      "places_hint": "You receive a message when something happens near one of these addresses. You can give up to 5.",
      "place_home": "Home address",
      "place_work": "Work address",
      "place_school": "School address",
      "place_family": "Family address",
      "place_other": "Other address",
      "postcode_label": "Postcode",
      "house_number_label": "House number",
      "addition_label": "Addition (optional)",
      "remove_place": "Remove this address",
      "add_work": "Add a work address",
      "add_other": "Add another address",
      "channel_legend": "How would you like to receive the messages?",
      "channel_hint": "With a landline number, choose a voice call.",
      "channel_sms": "Text message (SMS)",
      "channel_voice": "Voice call (a spoken message)",
      "quiet_legend": "Do not call between (optional)",
      "quiet_hint": "We do not call you during these hours. With a mobile number you get a text message instead. If a child goes missing, we always call.",
      "quiet_from": "From",
      "quiet_to": "To",
      "language_note": "You receive the messages in English. Prefer Dutch? Choose ‘Nederlands’ at the top.",
      "submit": "Send me a code",
      "step2_title": "Step 2 of 2: confirm your phone number",
      "code_label": "6-digit code",
      "code_hint": "We sent a code to {phone}. The code is valid for {minutes} minutes.",
      "confirm": "Confirm",
      "back": "Back to your details",
      "done_title": "You are signed up",
      "done_text": "From now on you receive a message when the police near you ask for your help. Want to stop? Reply STOP to any Burgernet message.",
      "noscript": "Turn on JavaScript to sign up.",
      "no_municipality": "This page belongs to a municipality. Open it through the link on your municipality's website.",
      "network_error": "Burgernet cannot be reached. Check your internet connection and try again.",
      "server_error": "Something went wrong on our side. Please try again in a few minutes.",
      "start_again": "Request a new code below.",
      "attempts_left": "You have {n} attempts left.",
      "statement": "Accessibility statement (in Dutch, with an English summary)"
    }
  } /* TEXTS-END */;

  const LANGUAGES = ["nl", "en"];
  const PLACE_LABELS = ["home", "work", "school", "family", "other"];
  const MAX_PLACES = PLACE_LABELS.length;

  // The API lives next to the page: the page is …/signup and this script …/signup/assets/signup.js,
  // so "../../" from the script is the API's root with or without an API Gateway stage prefix.
  const script = document.currentScript;
  const API_ROOT = new URL(script && script.src ? "../../" : "./", script && script.src ? script.src : location.href);

  const query = new URLSearchParams(location.search);
  const MUNICIPALITY = (query.get("municipality") || "").trim();

  const state = {
    lang: LANGUAGES.includes(query.get("lang")) ? query.get("lang") : "nl",
    places: [], // [{id, label}] in the order they are shown
    sent: [], // the places of the last POST signup, in its order
    nextPlaceId: 1,
    signupId: null,
    codeTo: "",
    minutes: 15,
    status: null, // {kind, key?, vars?, text?}
    busy: false,
  };

  const $ = (id) => document.getElementById(id);

  function t(key, vars) {
    const text = TEXTS[state.lang][key] ?? TEXTS.nl[key] ?? key;
    return text.replace(/\{(\w+)\}/g, (_, name) => (vars && name in vars ? String(vars[name]) : ""));
  }

  // ---- rendering texts -------------------------------------------------------------------------

  function render() {
    document.documentElement.lang = state.lang;
    document.title = t("title");
    for (const el of document.querySelectorAll("[data-i18n]")) {
      el.textContent = t(el.dataset.i18n);
    }
    const other = state.lang === "nl" ? "en" : "nl";
    $("language-switch").lang = other;
    // The statement is Dutch with an English summary: English readers land on the summary.
    $("statement-link").setAttribute("href", state.lang === "en" ? "toegankelijkheid#english" : "toegankelijkheid");
    updateAddButton();
    $("code-hint").textContent = t("code_hint", { phone: state.codeTo, minutes: state.minutes });
    renderStatus();
  }

  function setStatus(status) {
    state.status = status;
    renderStatus();
  }

  function renderStatus() {
    const box = $("status");
    const s = state.status;
    box.className = "status" + (s ? " status--" + s.kind : "");
    if (!s) {
      box.textContent = "";
      return;
    }
    // Server messages are already in the language the request asked for; ours follow the switch.
    const parts = [];
    if (s.text) parts.push(s.text);
    if (s.key) parts.push(t(s.key, s.vars));
    box.textContent = parts.join(" ");
  }

  // ---- places ----------------------------------------------------------------------------------

  function nextLabel() {
    const used = new Set(state.places.map((p) => p.label));
    return PLACE_LABELS.find((label) => !used.has(label));
  }

  function updateAddButton() {
    const button = $("add-place");
    const label = nextLabel();
    button.hidden = state.places.length >= MAX_PLACES || !label;
    const key = label === "work" ? "add_work" : "add_other";
    button.dataset.i18n = key;
    button.textContent = t(key);
  }

  function addPlace() {
    const label = nextLabel();
    if (!label || state.places.length >= MAX_PLACES) return;
    const id = "place-" + state.nextPlaceId++;
    const copy = $("place-0").cloneNode(true);
    copy.id = id;
    copy.dataset.label = label;
    for (const el of copy.querySelectorAll("[id]")) el.id = el.id.replace(/^place-0/, id);
    for (const el of copy.querySelectorAll("label[for]")) el.htmlFor = el.htmlFor.replace(/^place-0/, id);
    for (const input of copy.querySelectorAll("input")) {
      input.value = "";
      input.removeAttribute("aria-invalid");
      input.removeAttribute("aria-describedby");
    }
    for (const error of copy.querySelectorAll(".field-error")) {
      error.textContent = "";
      error.hidden = true;
    }
    for (const field of copy.querySelectorAll(".has-error")) field.classList.remove("has-error");
    const legend = copy.querySelector("legend");
    legend.dataset.i18n = "place_" + label;
    legend.textContent = t("place_" + label);
    const remove = copy.querySelector(".place__remove");
    remove.hidden = false;
    remove.addEventListener("click", () => removePlace(id));
    $("place-list").appendChild(copy);
    state.places.push({ id, label });
    updateAddButton();
    $(id + "-postcode").focus();
  }

  function removePlace(id) {
    state.places = state.places.filter((p) => p.id !== id);
    $(id).remove();
    updateAddButton();
    const last = state.places[state.places.length - 1];
    $(last.id + "-postcode").focus();
  }

  // ---- errors next to their field ----------------------------------------------------------------

  const FIELD_IDS = {
    phone: "phone",
    birth_date: "birth-date",
    places: "places",
    channel: "channel",
    quiet_hours: "quiet-hours",
    "quiet_hours.from": "quiet-from",
    "quiet_hours.to": "quiet-to",
    code: "code",
  };
  const PLACE_FIELDS = { postcode: "postcode", house_number: "house-number", addition: "addition" };

  // The element an API `field` concerns ("phone", "places[0].postcode", …), or null.
  function controlFor(field) {
    if (!field) return null;
    const place = /^places\[(\d+)\](?:\.(\w+))?$/.exec(field);
    if (place) {
      const entry = state.sent[Number(place[1])];
      if (!entry) return $("places");
      // A place-level error (address_not_found on "places[0]", or its lat/lon) shows at the postcode.
      return $(entry.id + "-" + (PLACE_FIELDS[place[2]] || "postcode"));
    }
    const id = FIELD_IDS[field] || FIELD_IDS[field.split(".")[0]];
    return id ? $(id) : null;
  }

  function addToken(el, attribute, token) {
    const tokens = (el.getAttribute(attribute) || "").split(/\s+/).filter(Boolean);
    if (!tokens.includes(token)) tokens.push(token);
    el.setAttribute(attribute, tokens.join(" "));
  }

  function removeToken(el, attribute, token) {
    const tokens = (el.getAttribute(attribute) || "").split(/\s+/).filter((x) => x && x !== token);
    if (tokens.length) el.setAttribute(attribute, tokens.join(" "));
    else el.removeAttribute(attribute);
  }

  function showFieldError(control, message) {
    const error = $(control.id + "-error");
    if (!error) return false;
    error.textContent = message;
    error.hidden = false;
    addToken(control, "aria-describedby", error.id);
    if (control.tagName === "INPUT") control.setAttribute("aria-invalid", "true");
    (control.tagName === "INPUT" ? control.closest(".field") : control).classList.add("has-error");
    const focusable = control.tagName === "INPUT" ? control : control.querySelector("input");
    if (focusable) focusable.focus();
    return true;
  }

  function clearErrors(scope) {
    for (const error of scope.querySelectorAll(".field-error")) {
      if (!error.id) continue;
      error.textContent = "";
      error.hidden = true;
      const control = $(error.id.replace(/-error$/, ""));
      if (control) {
        removeToken(control, "aria-describedby", error.id);
        control.removeAttribute("aria-invalid");
      }
    }
    for (const el of scope.querySelectorAll(".has-error")) el.classList.remove("has-error");
    setStatus(null);
  }

  // An error answer: next to its field when it names one we show, else in the status region.
  function showError(answer, extraKey, extraVars) {
    const data = answer.data || {};
    const message = typeof data.message === "string" && data.message ? data.message : null;
    if (!message) {
      setStatus({ kind: "error", key: "server_error" });
      focusStatus();
      return;
    }
    const control = controlFor(data.field);
    const text = extraKey ? message + " " + t(extraKey, extraVars) : message;
    if (!(control && showFieldError(control, text))) {
      setStatus({ kind: "error", text: message, key: extraKey, vars: extraVars });
      focusStatus();
    }
  }

  function focusStatus() {
    const box = $("status");
    box.setAttribute("tabindex", "-1");
    box.focus();
  }

  // ---- talking to the API ----------------------------------------------------------------------

  async function post(path, body) {
    let response;
    try {
      response = await fetch(new URL(path, API_ROOT), {
        method: "POST",
        credentials: "same-origin",
        headers: {
          "Content-Type": "application/json",
          Accept: "application/json",
          "Accept-Language": state.lang,
        },
        body: JSON.stringify(body),
      });
    } catch (err) {
      return { status: 0, data: null };
    }
    let data = null;
    try {
      data = await response.json();
    } catch (err) {
      data = null;
    }
    return { status: response.status, data };
  }

  function signupBody() {
    const value = (id) => $(id).value.trim();
    const body = { municipality: MUNICIPALITY, language: state.lang };
    if (value("phone")) body.phone = value("phone");
    if (value("birth-date")) body.birth_date = value("birth-date");
    body.channel = document.querySelector("input[name=channel]:checked")?.value || "sms";
    // Places left wholly empty are not sent (unless all are: then the API says what is missing).
    // The API names places by their index in what was sent: state.sent maps them back.
    const filled = state.places.filter((p) =>
      ["postcode", "house-number", "addition"].some((part) => value(p.id + "-" + part)),
    );
    state.sent = filled.length ? filled : state.places.slice(0, 1);
    body.places = state.sent.map((p) => {
      const place = { label: p.label };
      const postcode = value(p.id + "-postcode");
      const number = value(p.id + "-house-number");
      const addition = value(p.id + "-addition");
      if (postcode) place.postcode = postcode.toUpperCase();
      if (number) place.house_number = number;
      if (addition) place.addition = addition;
      return place;
    });
    const from = value("quiet-from");
    const to = value("quiet-to");
    if (from || to) body.quiet_hours = { from, to };
    return body;
  }

  function setBusy(button, busy) {
    state.busy = busy;
    if (busy) button.setAttribute("aria-disabled", "true");
    else button.removeAttribute("aria-disabled");
  }

  function showStep(step) {
    $("step-1").hidden = step !== 1;
    $("step-2").hidden = step !== 2;
    $("done").hidden = step !== 3;
  }

  async function submitSignup(event) {
    event.preventDefault();
    if (state.busy) return;
    const form = $("signup-form");
    clearErrors(form);
    const button = $("signup-submit");
    setBusy(button, true);
    const answer = await post("signup", signupBody());
    setBusy(button, false);
    if (answer.status === 202 && answer.data && answer.data.signup_id) {
      state.signupId = answer.data.signup_id;
      state.codeTo = $("phone").value.trim();
      state.minutes = Math.max(1, Math.round((answer.data.expires_in || 900) / 60));
      $("code").value = "";
      clearErrors($("verify-form"));
      render();
      showStep(2);
      $("code").focus();
      return;
    }
    if (answer.status === 0) {
      setStatus({ kind: "error", key: "network_error" });
      focusStatus();
      return;
    }
    showError(answer);
  }

  async function submitCode(event) {
    event.preventDefault();
    if (state.busy) return;
    clearErrors($("verify-form"));
    const button = $("verify-submit");
    setBusy(button, true);
    const code = $("code").value.replace(/\s+/g, "");
    const answer = await post("signup/verify", { signup_id: state.signupId, code });
    setBusy(button, false);
    if (answer.status === 201) {
      state.signupId = null;
      showStep(3);
      $("done-title").focus();
      return;
    }
    if (answer.status === 0) {
      setStatus({ kind: "error", key: "network_error" });
      focusStatus();
      return;
    }
    if (answer.status === 403 || answer.status === 410) {
      // Locked or expired: this signup is over; the details are still filled in for a new one.
      state.signupId = null;
      showStep(1);
      showError({ status: answer.status, data: { ...answer.data, field: null } }, "start_again");
      return;
    }
    const left = answer.data && answer.data.attempts_left;
    const message = (answer.data && answer.data.message) || "";
    if (typeof left === "number" && !message.includes(String(left))) {
      showError(answer, "attempts_left", { n: left });
    } else {
      showError(answer);
    }
  }

  function back() {
    state.signupId = null;
    clearErrors($("verify-form"));
    showStep(1);
    $("phone").focus();
  }

  function switchLanguage() {
    state.lang = state.lang === "nl" ? "en" : "nl";
    render();
  }

  // ---- start -----------------------------------------------------------------------------------

  function start() {
    state.places = [{ id: "place-0", label: "home" }];
    $("language-switch").addEventListener("click", switchLanguage);
    $("add-place").addEventListener("click", addPlace);
    $("signup-form").addEventListener("submit", submitSignup);
    $("verify-form").addEventListener("submit", submitCode);
    $("back").addEventListener("click", back);
    if (!/^GM\d{4}$/i.test(MUNICIPALITY)) setStatus({ kind: "error", key: "no_municipality" });
    render();
  }

  if (document.readyState === "loading") document.addEventListener("DOMContentLoaded", start);
  else start();
})();
