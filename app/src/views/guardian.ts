/**
 * The guardian view: a live delegate of one or more patients picks the patient it acts for, then sees and changes
 * that patient's consents (grant, revoke, deny, revoke everything, the break-glass setting and open windows) with the
 * registry's `…For` calls. Every heading and transaction names the patient; the patient's history shows the
 * guardian as the one who acted.
 */
import { field, h, section, select } from "../dom";
import { delegations, type Session } from "../session";
import { day, duration, shortHex } from "../words";
import { actingFor, patientView } from "./patient";

/** The patient each guardian account last picked, until the page is closed. */
const picked = new Map<string, string>();

export async function guardianView(session: Session): Promise<HTMLElement> {
  const [patients, now] = await Promise.all([delegations(session, { delegate: session.account }), session.now()]);
  if (patients.length === 0) {
    return section(
      "Act for a patient",
      h("p", {}, "You are nobody's guardian now: a patient appoints a guardian from their own view, until a date."),
    );
  }
  const chosen = patients.find((p) => p.patient === picked.get(session.account)) ?? patients[0];
  const choice = select(
    patients.map((p): [string, string] => [p.patient, p.patient]),
    { name: "acting-for" },
  );
  choice.value = chosen.patient;
  choice.addEventListener("change", () => {
    picked.set(session.account, choice.value);
    void session.refresh();
  });
  const name = shortHex(chosen.patient);
  return h(
    "div",
    { class: "guardian" },
    section(
      "Act for a patient",
      h(
        "p",
        {},
        patients.length === 1
          ? "You are the guardian of one patient."
          : `You are the guardian of ${patients.length} patients: pick the one you act for.`,
      ),
      field("Patient you act for", choice),
      h(
        "p",
        { class: "acting-note", role: "note" },
        `You are acting for ${name}, as their guardian, until ${day(chosen.expiresAt - 1)} (${duration(chosen.expiresAt - now)} left). `,
        `Everything you do below changes ${name}'s consents, not yours, and their history shows that you did it. `,
        "You pay the fees from your own account. Only the patient can sign for a clinic, anchor records or appoint guardians.",
      ),
    ),
    await patientView(session, actingFor(session, chosen.patient)),
  );
}
