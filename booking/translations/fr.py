"""French translations, kept as data so ``python -m booking.translations.fr`` rebuilds the .po/.mo.

Why a module and not only a hand-edited .po: the catalogue is regenerated from the sources with
``pybabel extract`` and merged with this table, and a missing translation fails the build instead of
silently showing English to French customers. The compiled ``.mo`` is committed, so an installed
package needs no compile step.
"""

from __future__ import annotations

from pathlib import Path

from booking.translations.fr_admin import FR_ADMIN

FR: dict[str, str] = {
    "Help with a problem or a question": "De l’aide sur un problème ou une question",
    "Training on a feature": "Une formation sur une fonctionnalité",
    "Changes to your setup": "Des changements dans votre configuration",
    "Your call with %(agent)s is booked: %(when)s": "Votre appel avec %(agent)s est réservé : %(when)s",
    "Your call with %(agent)s has moved: %(when)s": "Votre appel avec %(agent)s a été déplacé : %(when)s",
    "Cancelled: your call with %(agent)s, %(when)s": "Annulé : votre appel avec %(agent)s, %(when)s",
    "Reminder: your call with %(agent)s, %(when)s": "Rappel : votre appel avec %(agent)s, %(when)s",
    "Sign-in by e-mail is not set up on this server yet.": "La connexion par e-mail n’est pas encore "
    "configurée sur ce serveur.",
    "A reminder of your call with %(agent)s, your dedicated support agent.": "Un rappel de votre appel "
    "avec %(agent)s, votre agent de support dédié.",
    "New call booked by %(customer)s: %(when)s": "Nouvel appel réservé par %(customer)s : %(when)s",
    "Call with %(customer)s moved: %(when)s": "Appel avec %(customer)s déplacé : %(when)s",
    "Call with %(customer)s cancelled: %(when)s": "Appel avec %(customer)s annulé : %(when)s",
    "This booking link is not valid": "Ce lien de réservation n’est pas valide",
    "Please check that you opened the whole link from your e-mail. If it still does not work, "
    "ask your dedicated agent for a new link.": "Vérifiez que vous avez ouvert le lien complet reçu par e-mail. "
    "S’il ne fonctionne toujours pas, demandez un nouveau lien à votre agent dédié.",
    "We could not find this booking": "Nous ne trouvons pas cette réservation",
    "Please open the link from your confirmation e-mail again; it may have been cut.": "Ouvrez à nouveau "
    "le lien de votre e-mail de confirmation ; il a peut-être été coupé.",
    "This link does not match this booking": "Ce lien ne correspond pas à cette réservation",
    "Please open the “change or cancel” link from your confirmation e-mail.": "Ouvrez le lien « Modifier "
    "ou annuler » de votre e-mail de confirmation.",
    "Calls with a dedicated agent are not part of your plan": "Les appels avec un agent dédié ne font pas "
    "partie de votre offre",
    "Booking calls with a named, dedicated support agent comes with the All-inclusive plan and its "
    "Dedicated support add-on. Your account manager can add it for you.": "La réservation d’appels avec "
    "un agent de support dédié et nommé est incluse dans l’offre All-inclusive avec l’option Support dédié. "
    "Votre responsable de compte peut l’ajouter pour vous.",
    "This form has expired": "Ce formulaire a expiré",
    "For your security, forms expire. Please go back, reload the page and send it again.": "Pour votre "
    "sécurité, les formulaires expirent. Revenez en arrière, rechargez la page et envoyez-le à nouveau.",
    "Something in this request was not right": "Quelque chose n’allait pas dans cette demande",
    "Please go back, check the form and try again.": "Revenez en arrière, vérifiez le formulaire et réessayez.",
    "You cannot open this page": "Vous ne pouvez pas ouvrir cette page",
    "Please check the link you used.": "Vérifiez le lien que vous avez utilisé.",
    "Page not found": "Page introuvable",
    "The address may be mistyped or the link incomplete. Please check the link from your e-mail.": "L’adresse "
    "est peut-être mal saisie ou le lien incomplet. Vérifiez le lien reçu par e-mail.",
    "This action is not available here": "Cette action n’est pas disponible ici",
    "Please go back and use the buttons on the page.": "Revenez en arrière et utilisez les boutons de la page.",
    "This could not be done": "Cela n’a pas pu être fait",
    "Please reload the page and try again.": "Rechargez la page et réessayez.",
    "Something went wrong on our side": "Un problème est survenu de notre côté",
    "Nothing was lost. Please try again in a moment.": "Rien n’a été perdu. Réessayez dans un instant.",
    "Please choose a time.": "Choisissez un horaire.",
    "Please choose what the call is about.": "Choisissez le sujet de l’appel.",
    "Please enter your name.": "Indiquez votre nom.",
    "Please shorten your name to 200 characters.": "Raccourcissez votre nom à 200 caractères.",
    "Please enter an e-mail address such as name@company.com.": "Indiquez une adresse e-mail comme nom@entreprise.fr.",
    "Please shorten your notes to %(n)d characters.": "Raccourcissez vos remarques à %(n)d caractères.",
    "Your dedicated support agent": "Votre agent de support dédié",
    "Your time zone": "Votre fuseau horaire",
    "Length of the call": "Durée de l’appel",
    "%(n)d minutes": "%(n)d minutes",
    "Show the times": "Afficher les horaires",
    "Times are shown in %(zone)s (%(offset)s).": "Horaires affichés pour %(zone)s (%(offset)s).",
    "Dedicated support": "Support dédié",
    "Skip to main content": "Aller au contenu principal",
    "Language": "Langue",
    "Dedicated chat, e-mail and phone support: Monday to Friday, 09:00–17:00 (Paris time).": "Chat, e-mail "
    "et téléphone dédiés : du lundi au vendredi, de 9 h à 17 h (heure de Paris).",
    "Book a call with %(name)s": "Réserver un appel avec %(name)s",
    "%(customer)s: pick a time that suits you, tell us what it is about, and you will get an invitation "
    "for your calendar.": "%(customer)s : choisissez un horaire qui vous convient, dites-nous de quoi il "
    "s’agit, et vous recevrez une invitation pour votre agenda.",
    "That time was just taken": "Cet horaire vient d’être pris",
    "Someone booked it a moment before you. Here are the times that are still free: please pick another "
    "one. Your details are kept.": "Quelqu’un l’a réservé juste avant vous. Voici les horaires encore "
    "libres : choisissez-en un autre. Vos informations sont conservées.",
    "This form was already used": "Ce formulaire a déjà été utilisé",
    "A call was already booked with this form; check your e-mail for its confirmation. To book another "
    "call, pick a time below.": "Un appel a déjà été réservé avec ce formulaire ; sa confirmation est dans "
    "votre boîte mail. Pour réserver un autre appel, choisissez un horaire ci-dessous.",
    "Please check the form": "Vérifiez le formulaire",
    "When": "Quand",
    "What is the call about?": "De quoi voulez-vous parler ?",
    "Your details": "Vos coordonnées",
    "Your name": "Votre nom",
    "Your e-mail address": "Votre adresse e-mail",
    "We send the confirmation and the calendar invitation here.": "Nous y envoyons la confirmation et "
    "l’invitation pour votre agenda.",
    "Notes for %(name)s (optional)": "Remarques pour %(name)s (facultatif)",
    "Book this call": "Réserver cet appel",
    "Your call is booked": "Votre appel est réservé",
    "We sent the confirmation and a calendar invitation to %(email)s.": "Nous avons envoyé la confirmation "
    "et une invitation pour votre agenda à %(email)s.",
    "Your call": "Votre appel",
    "Length": "Durée",
    "About": "Sujet",
    "With": "Avec",
    "Add to calendar": "Ajouter à l’agenda",
    "Change or cancel": "Modifier ou annuler",
    "Keep this link to change or cancel your call later:": "Gardez ce lien pour modifier ou annuler votre "
    "appel plus tard :",
    "Error %(status)d": "Erreur %(status)d",
    "Your call with %(name)s": "Votre appel avec %(name)s",
    "Your call has moved. We sent the updated invitation to %(email)s.": "Votre appel a été déplacé. Nous "
    "avons envoyé l’invitation mise à jour à %(email)s.",
    "Your call is cancelled. We sent the cancellation to %(email)s so your calendar removes it.": "Votre "
    "appel est annulé. Nous avons envoyé l’annulation à %(email)s pour que votre agenda le retire.",
    "Someone booked it a moment before you. Your call has not moved; please pick another time.": "Quelqu’un "
    "l’a réservé juste avant vous. Votre appel n’a pas bougé ; choisissez un autre horaire.",
    "It is too late to change this call: it has already started or taken place.": "Il est trop tard pour "
    "modifier cet appel : il a déjà commencé ou eu lieu.",
    "This call is cancelled, so it cannot be moved. You can book a new one.": "Cet appel est annulé, il ne "
    "peut donc pas être déplacé. Vous pouvez en réserver un nouveau.",
    "Cancelled": "Annulé",
    "Started or over": "Commencé ou terminé",
    "Confirmed": "Confirmé",
    "Booked by": "Réservé par",
    "Book another call": "Réserver un autre appel",
    "This call has already started or taken place, so it can no longer be moved or cancelled here. To "
    "change something, write to %(name)s.": "Cet appel a déjà commencé ou eu lieu : il ne peut plus être "
    "déplacé ni annulé ici. Pour tout changement, écrivez à %(name)s.",
    "Move to another time": "Déplacer à un autre horaire",
    "Move my call": "Déplacer mon appel",
    "Cancel the call": "Annuler l’appel",
    "I want to cancel this call": "Je veux annuler cet appel",
    "%(name)s will be told, and the time becomes free for others.": "%(name)s sera prévenu(e), et "
    "l’horaire redevient libre.",
    "Yes, cancel my call": "Oui, annuler mon appel",
    "%(customer)s booked a call with you.": "%(customer)s a réservé un appel avec vous.",
    "%(customer)s moved their call with you.": "%(customer)s a déplacé son appel avec vous.",
    "%(customer)s cancelled their call with you.": "%(customer)s a annulé son appel avec vous.",
    "Contact": "Contact",
    "Notes": "Remarques",
    "Reply to this e-mail to write to the contact.": "Répondez à cet e-mail pour écrire au contact.",
    "Hello %(name)s,": "Bonjour %(name)s,",
    "%(label)s:": "%(label)s :",
    "Your call with %(agent)s, your dedicated support agent, is booked.": "Votre appel avec %(agent)s, "
    "votre agent de support dédié, est réservé.",
    "Your call with %(agent)s has moved to a new time.": "Votre appel avec %(agent)s a été déplacé à un "
    "nouvel horaire.",
    "Your call with %(agent)s is cancelled.": "Votre appel avec %(agent)s est annulé.",
    "The attached file removes the call from your calendar. To book another call:": "Le fichier joint "
    "retire l’appel de votre agenda. Pour réserver un autre appel :",
    "Open the attached invitation to add the call to your calendar. To change or cancel it:": "Ouvrez "
    "l’invitation jointe pour ajouter l’appel à votre agenda. Pour le modifier ou l’annuler :",
    "Reply to this e-mail to reach %(agent)s directly.": "Répondez à cet e-mail pour joindre directement %(agent)s.",
    "Critical": "Critique",
    "High": "Élevée",
    "Standard": "Standard",
    "Bug fixes": "Correctifs",
    "Requests": "Demandes",
    "This sign-in link has expired. Links work for 15 "
    "minutes; ask for a new one below.": "Ce lien de connexion a expiré. Les liens sont valables "
    "15 minutes ; demandez-en un nouveau ci-dessous.",
    "This sign-in link was already used, or a newer one "
    "replaced it. Ask for a new one below.": "Ce lien de connexion a déjà été utilisé, ou un lien "
    "plus récent l’a remplacé. Demandez-en un nouveau ci-dessous.",
    "This sign-in link is not valid. Please open the "
    "whole link from the e-mail, or ask for a new one.": "Ce lien de connexion n’est pas valide. Ouvrez le lien "
    "complet reçu par e-mail, ou demandez-en un nouveau.",
    "Your sign-in link for the dedicated support dashboard": "Votre lien de connexion au tableau de bord du support "
    "dédié",
    "You are signed out.": "Vous êtes déconnecté(e).",
    "Your session has ended. Please sign in again.": "Votre session a pris fin. Reconnectez-vous.",
    "Callback marked as done.": "Rappel marqué comme fait.",
    "Callback moved. Its reserved time in your calendar "
    "moved with it.": "Rappel déplacé. Le créneau réservé dans votre agenda a suivi.",
    "No free time after that due time: the callback has "
    "not moved. Please pick another time.": "Aucun créneau libre après cette échéance : le rappel "
    "n’a pas bougé. Choisissez un autre horaire.",
    "Please enter a due time between now and 62 days ahead.": "Indiquez une échéance entre maintenant et dans 62 "
    "jours.",
    "This callback is no longer pending, so it cannot "
    "be moved.": "Ce rappel n’est plus en attente : il ne peut pas être déplacé.",
    "Your dashboard": "Votre tableau de bord",
    "Hello %(name)s": "Bonjour %(name)s",
    "Times are shown in your zone, %(zone)s.": "Horaires affichés dans votre fuseau, %(zone)s.",
    "Sign out": "Se déconnecter",
    "Sections": "Rubriques",
    "Callbacks": "Rappels",
    "Upcoming calls": "Appels à venir",
    "Voicemails": "Messages vocaux",
    "Calendar": "Agenda",
    "Callbacks to make": "Rappels à faire",
    "Unknown caller": "Appelant inconnu",
    "Severity %(label)s": "Gravité %(label)s",
    "Overdue": "En retard",
    "Call back by": "Rappeler avant",
    "round the clock": "24 h/24",
    "Phone": "Téléphone",
    "Voicemail": "Message vocal",
    "Listen (%(n)d s)": "Écouter (%(n)d s)",
    "left %(when)s": "laissé le %(when)s",
    "Reserved": "Réservé",
    "Mark as done": "Marquer comme fait",
    "Move the due time": "Déplacer l’échéance",
    "New due time (%(zone)s)": "Nouvelle échéance (%(zone)s)",
    "Move": "Déplacer",
    "No callbacks waiting. Well done.": "Aucun rappel en attente. Bravo.",
    "Customer": "Client",
    "Invitation (.ics)": "Invitation (.ics)",
    "Move or cancel for the customer": "Déplacer ou annuler pour le client",
    "No calls booked yet.": "Aucun appel réservé pour l’instant.",
    "Recent voicemails": "Messages vocaux récents",
    "From": "De",
    "Severity": "Gravité",
    "Recording": "Enregistrement",
    "Callback": "Rappel",
    "Done": "Fait",
    "Pending": "En attente",
    "No voicemails in the last two weeks.": "Aucun message vocal ces deux dernières semaines.",
    "Your calendar": "Votre agenda",
    "CalDAV calendar": "Agenda CalDAV",
    "Last sync": "Dernière synchronisation",
    "Not yet": "Pas encore",
    "OK": "OK",
    "Failed": "Échec",
    "Error": "Erreur",
    "No CalDAV calendar is connected. Ask an administrator to connect one, or subscribe to your private "
    "feed below.": "Aucun agenda CalDAV n’est connecté. Demandez à un "
    "administrateur d’en connecter un, ou abonnez-vous à votre flux privé ci-dessous.",
    "Your private calendar feed (iCalendar)": "Votre flux d’agenda privé (iCalendar)",
    "Subscribe to it in your calendar app. Keep it private: anyone with this address can read your "
    "bookings.": "Abonnez-vous-y dans votre application d’agenda. "
    "Gardez-le privé : toute personne ayant cette adresse peut lire vos réservations.",
    "Agent sign-in": "Connexion agent",
    "No password: enter your work e-mail address and we "
    "send you a sign-in link.": "Pas de mot de passe : indiquez votre adresse e-mail "
    "professionnelle et nous vous envoyons un lien de connexion.",
    "Your work e-mail address": "Votre adresse e-mail professionnelle",
    "Send me a sign-in link": "M’envoyer un lien de connexion",
    "Sign in": "Se connecter",
    "Sign in as %(name)s": "Se connecter en tant que %(name)s",
    "One more click: the link works only once, and this button makes sure that you use it, not your "
    "mailbox's link checker.": "Encore un clic : le lien ne fonctionne qu’une fois, et "
    "ce bouton garantit que c’est vous qui l’utilisez, et non le vérificateur de liens de votre "
    "messagerie.",
    "Check your inbox": "Consultez votre boîte mail",
    "If %(email)s belongs to an agent, a sign-in link is on its way to it. The link works once, for 15 "
    "minutes.": "Si %(email)s appartient à un agent, un lien de connexion vient d’y être envoyé. Le lien fonctionne "
    "une fois, pendant 15 minutes.",
    "Nothing after a few minutes? Check your spam "
    "folder, then ask for a new link.": "Rien après quelques minutes ? Vérifiez vos "
    "indésirables, puis demandez un nouveau lien.",
    "Ask for a new link": "Demander un nouveau lien",
    "Open this link within %(n)d minutes to sign in to "
    "your dedicated support dashboard. It works once.": "Ouvrez ce lien dans les %(n)d minutes pour vous "
    "connecter à votre tableau de bord du support dédié. Il fonctionne une fois.",
    "If you did not ask for it, ignore this e-mail: "
    "nobody can sign in without the link.": "Si vous ne l’avez pas demandé, ignorez cet e-mail : "
    "personne ne peut se connecter sans ce lien.",
    # Operations (issue 11): the 503 page while the database is away, and the home page.
    "The service is briefly unavailable": "Le service est momentanément indisponible",
    "We are back in a moment. Please try again in a few seconds; nothing was lost.": "Nous revenons dans "
    "un instant. Réessayez dans quelques secondes ; rien n’a été perdu.",
    "This service books calls with your named support agent. Customers open the private booking link they "
    "received by e-mail; there is nothing to sign in to.": "Ce service réserve des appels avec votre agent de "
    "support attitré. Les clients ouvrent le lien de réservation personnel reçu par e-mail ; aucune connexion "
    "n’est nécessaire.",
    "Support agents": "Agents de support",
    "See your callbacks and upcoming calls.": "Consultez vos rappels et vos prochains appels.",
    "Integrators and operators": "Intégrateurs et exploitants",
    "API reference (OpenAPI document)": "Référence de l’API (document OpenAPI)",
    # issue 17: the agent's chat panel
    "Chat": "Chat",
    "Back to your dashboard": "Retour au tableau de bord",
    "Allow notifications": "Autoriser les notifications",
    "Conversations": "Conversations",
    "Waiting": "En attente",
    "No conversation yet.": "Aucune conversation pour l’instant.",
    "Your answer": "Votre réponse",
    "Send": "Envoyer",
    # Issue 18: the contact's zone, how the call happens, languages, booking rules.
    "unknown sender (triage)": "expéditeur inconnu (tri)",
    "SLA BREACHED": "SLA DÉPASSÉ",
    "Due in 15 min": "Échéance dans 15 min",
    "%(head)s: request #%(id)d (%(channel)s, severity "
    "%(severity)s) from %(who)s: %(subject)s. First "
    "response due %(due)s.": "%(head)s : demande n° %(id)d (%(channel)s, sévérité "
    "%(severity)s) de %(who)s : %(subject)s. Première "
    "réponse attendue %(due)s.",
    "The first-response target of this request has been missed.": "Le délai de première réponse de cette demande est "
    "dépassé.",
    "The first response to this request is due in 15 minutes.": "La première réponse à cette demande est attendue "
    "dans 15 minutes.",
    "Request: #%(id)d - %(subject)s": "Demande : n° %(id)d - %(subject)s",
    "From: %(who)s": "De : %(who)s",
    "Channel: %(channel)s": "Canal : %(channel)s",
    "Severity: %(label)s - %(definition)s": "Sévérité : %(label)s - %(definition)s",
    "Received: %(when)s": "Reçu : %(when)s",
    "First response due: %(when)s": "Première réponse attendue : %(when)s",
    "Follow-up due: %(when)s": "Suivi attendu : %(when)s",
    "Answer it, then POST /api/requests/%(id)d/respond "
    "(or escalate it to the senior team).": "Répondez-y, puis POST /api/requests/%(id)d/respond "
    "(ou transmettez-la à l’équipe senior).",
    "[SLA breached]": "[SLA dépassé]",
    "[Due in 15 min]": "[Échéance dans 15 min]",
    "ESCALATED: request #%(id)d (severity %(severity)s) "
    "from %(who)s: %(subject)s. First response due "
    "%(due)s.": "TRANSMISE : demande n° %(id)d (sévérité "
    "%(severity)s) de %(who)s : %(subject)s. Première "
    "réponse attendue %(due)s.",
    "Help": "Aide",
    "Feature training": "Formation",
    "Setup changes": "Changements de configuration",
    "Video call: join %(url)s at the time of the call.": "Appel vidéo : rejoignez %(url)s à l’heure de l’appel.",
    "%(agent)s calls you on %(phone)s.": "%(agent)s vous appelle au %(phone)s.",
    "%(agent)s calls you; reply to the e-mail to give a number.": "%(agent)s vous appelle ; répondez à l’e-mail pour "
    "donner un numéro.",
    "Call %(name)s on %(phone)s.": "Appelez %(name)s au %(phone)s.",
    "No phone number given: write to %(email)s for one.": "Aucun numéro donné : écrivez à %(email)s pour en "
    "obtenir un.",
    "Callback: %(name)s": "Rappel : %(name)s",
    "%(topic)s call: %(customer)s with %(agent)s": "Appel (%(topic)s) : %(customer)s avec %(agent)s",
    "When: %(when)s": "Quand : %(when)s",
    "Topic: %(topic)s": "Sujet : %(topic)s",
    "Contact: %(name)s <%(email)s>": "Contact : %(name)s <%(email)s>",
    "Please choose how the call happens.": "Choisissez comment l’appel a lieu.",
    "Please enter a phone number such as +33 6 12 34 56 78.": "Indiquez un numéro de téléphone comme +33 6 12 34 56 "
    "78.",
    "Voicemail from %(who)s %(phone)s (%(seconds)d s, "
    "severity %(severity)s). Call back by %(due)s.": "Message vocal de %(who)s %(phone)s (%(seconds)d s, "
    "sévérité %(severity)s). Rappeler avant %(due)s.",
    "Reserved %(when)s.": "Réservé %(when)s.",
    "%(who)s left a voicemail and is waiting for your call.": "%(who)s a laissé un message vocal et attend votre "
    "appel.",
    "Phone: %(phone)s": "Téléphone : %(phone)s",
    "Call back by: %(when)s": "Rappeler avant : %(when)s",
    "Reserved in your calendar: %(start)s - %(end)s": "Réservé dans votre agenda : %(start)s - %(end)s",
    "Recording (%(seconds)d s): %(url)s": "Enregistrement (%(seconds)d s) : %(url)s",
    "Call SID: %(sid)s": "SID de l’appel : %(sid)s",
    "Mark it done in the dashboard or with POST "
    "/api/callbacks/<id>/done once you have called back.": "Marquez-le comme fait dans le tableau de bord ou "
    "avec POST /api/callbacks/<id>/done une fois le "
    "rappel passé.",
    "[%(severity)s] Call back %(who)s by %(due)s": "[%(severity)s] Rappeler %(who)s avant %(due)s",
    "OVERDUE: call back %(who)s %(phone)s (severity "
    "%(severity)s, due %(due)s).": "EN RETARD : rappeler %(who)s %(phone)s (sévérité %(severity)s, échéance %(due)s).",
    "You have as many upcoming calls as you can book": "Vous avez déjà autant d’appels à venir que possible",
    "Cancel one of your upcoming calls, or wait until one "
    "has taken place, to book another.": "Annulez un de vos appels à venir, ou attendez qu’un "
    "appel ait eu lieu, pour en réserver un autre.",
    "How the call happens": "Comment l’appel a lieu",
    "%(name)s calls you": "%(name)s vous appelle",
    "Video call (a link comes with the confirmation)": "Appel vidéo (un lien accompagne la confirmation)",
    "Your phone number": "Votre numéro de téléphone",
    "With the country code for a number abroad, e.g. +1 212 555 0100.": "Avec l’indicatif du pays pour un numéro à "
    "l’étranger, par ex. +1 212 555 0100.",
    "How": "Comment",
    "Video call": "Appel vidéo",
    "No phone number given": "Aucun numéro de téléphone donné",
    "a customer": "un client",
    "CRITICAL: %(who)s %(caller)s reports its service is down (called %(called)s). "
    "Call back by %(due)s. Voicemail follows.": "CRITIQUE : %(who)s %(caller)s signale que son service est "
    "en panne (appel %(called)s). Rappeler avant %(due)s. Message vocal à suivre.",
    "SENIOR NEEDED: %(who)s %(caller)s pressed 2 for a senior agent (called %(called)s) and no senior "
    "could answer. Severity 2: call back by %(due)s. Voicemail follows.": "SENIOR DEMANDÉ : %(who)s "
    "%(caller)s a demandé un agent senior (appel %(called)s) et aucun senior n’a pu répondre. Sévérité 2 : "
    "rappeler avant %(due)s. Message vocal à suivre.",
    # Issue 18 (cxpage): the month picker, the zone list and the home page.
    "Pick a day, then a time": "Choisissez un jour, puis un horaire",
    "First available: %(when)s": "Premier horaire libre : %(when)s",
    "Go to the first available time": "Aller au premier horaire libre",
    "Previous month": "Mois précédent",
    "Next month": "Mois suivant",
    "free times: %(n)d": "horaires libres : %(n)d",
    "No free time on this day. Please pick one of the highlighted days.": "Aucun horaire libre ce jour-là. "
    "Choisissez l’un des jours mis en évidence.",
    "No free time in this month. Please look at the next month, or write to your agent.": "Aucun horaire "
    "libre ce mois-ci. Regardez le mois suivant, ou écrivez à votre agent.",
    "Chosen time:": "Horaire choisi :",
    "none yet — pick a day, then a time": "aucun pour l’instant — choisissez un jour, puis un horaire",
    "Search for a city, country or zone": "Chercher une ville, un pays ou un fuseau",
    "Zones found: %(n)s": "Fuseaux trouvés : %(n)s",
    "Detected on this device": "Détecté sur cet appareil",
    "Europe": "Europe",
    "Americas": "Amériques",
    "Africa": "Afrique",
    "Asia": "Asie",
    "Australia": "Australie",
    "Pacific Ocean": "Océan Pacifique",
    "Atlantic Ocean": "Océan Atlantique",
    "Indian Ocean": "Océan Indien",
    "Antarctica": "Antarctique",
    "Arctic": "Arctique",
    "Universal time": "Temps universel",
    "Dedicated support booking": "Réservation du support dédié",
    "README: configuration, deployment and operations": "README : configuration, déploiement et exploitation",
}

# Security hardening (issue 12): oversized requests, rate limits, refused characters.
FR.update(
    {
        "This is more than we can accept": "C’est plus que ce que nous pouvons accepter",
        "Please go back and shorten what you typed, then send it again.": "Revenez en arrière, raccourcissez "
        "ce que vous avez saisi, puis envoyez-le à nouveau.",
        "Too many attempts": "Trop de tentatives",
        "For your security, this is limited. Please wait a little and try again.": "Pour votre sécurité, "
        "ceci est limité. Patientez un peu, puis réessayez.",
        "You already have many calls booked": "Vous avez déjà beaucoup d’appels réservés",
        "Please cancel one of your upcoming calls, or wait until one has taken place, then book again.": "Annulez "
        "l’un de vos prochains appels, ou attendez qu’il ait eu lieu, puis réservez à nouveau.",
    }
)

# The request queue (issue 13): kept in a block of its own so the channels' strings merge cleanly.
FR.update(
    {
        "%(time)s late": "%(time)s de retard",
        "%(time)s left": "encore %(time)s",
        "All": "Toutes",
        "All channels": "Tous les canaux",
        "Answered": "Répondu",
        "Awaiting a first response": "En attente d’une première réponse",
        "Back to your dashboard": "Retour au tableau de bord",
        "Channel": "Canal",
        "Chat": "Chat",
        "Due soon": "Bientôt dû",
        "E-mail": "E-mail",
        "Escalate": "Transmettre",
        "Escalate to a senior agent": "Transmettre à un agent senior",
        "Everything waiting for an answer from you, soonest due first. Times are shown in your zone, "
        "%(zone)s.": "Tout ce qui attend une réponse de votre part, le plus urgent d’abord. Les heures "
        "sont indiquées dans votre fuseau, %(zone)s.",
        "Filter the queue": "Filtrer la file",
        "First response by": "Première réponse avant",
        "First response recorded.": "Première réponse enregistrée.",
        "Follow-up by": "Suivi avant",
        "Handed to the senior team. Your notes and the due times go with it.": "Transmis à l’équipe "
        "senior, avec vos notes et les échéances.",
        "I have answered": "J’ai répondu",
        "Late": "En retard",
        "Nothing waiting here.": "Rien en attente ici.",
        "On time": "Dans les temps",
        "Received": "Reçu",
        "Request resolved.": "Demande résolue.",
        "Resolve": "Résoudre",
        "Resolved": "Résolues",
        "Senior team": "Équipe senior",
        "Show": "Afficher",
        "Status": "Statut",
        "Take it": "La prendre",
        "The request is yours now.": "La demande est désormais la vôtre.",
        "Unknown sender (triage)": "Expéditeur inconnu (tri)",
        "What the senior agent should know": "Ce que l’agent senior doit savoir",
        "Your queue": "Votre file",
        "internal target": "objectif interne",
        "the first free time in your calendar after the due time: call back earlier if you can": "le premier "
        "créneau libre de votre agenda après l’échéance : rappelez plus tôt si vous le pouvez",
    }
)


# Admins' views of the queue and the SLA report (issue 13).
FR.update(
    {
        "SLA report": "Rapport SLA",
        "Whose requests": "Demandes de qui",
        "Mine": "Les miennes",
        "Every agent’s": "Celles de tous les agents",
        "Triage (no customer matched)": "Tri (aucun client reconnu)",
        "Nobody yet": "Personne pour l’instant",
        "First responses, %(month)s (%(zone)s)": "Premières réponses, %(month)s (%(zone)s)",
        "First responses to the requests received in the month, in the business time zone.": "Premières "
        "réponses aux demandes reçues dans le mois, dans le fuseau horaire du service.",
        "Choose the month": "Choisir le mois",
        "Month": "Mois",
        "Please choose a month such as 2026-12.": "Choisissez un mois, par exemple 2026-12.",
        "Per severity": "Par gravité",
        "Answered in time": "Répondu à temps",
        "Breached": "Hors délai",
        "Still open": "Encore ouvertes",
        "Median first response (min)": "Première réponse médiane (min)",
        "p90 first response (min)": "Première réponse p90 (min)",
        "Total": "Total",
        "Per customer": "Par client",
        "No request was received in this month.": "Aucune demande n’a été reçue ce mois-ci.",
        "Download as CSV": "Télécharger en CSV",
    }
)

# The admin console and the backup agent (issue 14): a table of their own.
FR.update(FR_ADMIN)


# One request's page: its e-mail thread and the reply form (issue 15).
FR.update(
    {
        "Request #%(id)s": "Demande n° %(id)s",
        "Back to your queue": "Retour à votre file",
        "Summary": "Résumé",
        "Thread": "Échanges",
        "Automatic acknowledgement": "Accusé de réception automatique",
        "Sending": "Envoi en cours",
        "Automatic mail": "Message automatique",
        "over the size limit: not stored": "trop volumineux : non conservé",
        "No e-mail on this request.": "Aucun e-mail sur cette demande.",
        "Your reply": "Votre réponse",
        "Send the reply": "Envoyer la réponse",
        "Your reply is on its way; it is the first response if none was recorded.": "Votre réponse est "
        "envoyée ; c’est la première réponse si aucune n’avait été enregistrée.",
    }
)


# Click to call back and the warm hand-off (issue 16): a block of its own so the other branches' strings merge cleanly.
FR.update(
    {
        "Call now": "Appeler",
        "Calls": "Appels",
        "Attempt %(n)s": "Tentative %(n)s",
        "Calling…": "Appel en cours…",
        "Ringing": "Sonne",
        "Connected": "En ligne",
        "Not reached": "Non joint",
        "Calling: your phone rings first, then the customer’s.": "Appel en cours : votre téléphone sonne "
        "d’abord, puis celui du client.",
        "That call was placed already; its outcome shows on the request.": "Cet appel a déjà été passé ; son "
        "résultat s’affiche sur la demande.",
        "On the phone now": "En ligne maintenant",
        "Senior": "Senior",
        "Senior agent": "Agent senior",
        "Bring in a senior": "Faire venir un senior",
        "Bringing in a senior: the call moves into a conference and the senior is dialled.": "Un senior arrive : "
        "l’appel passe en conférence et le senior est appelé.",
        "A senior was already called into this call.": "Un senior a déjà été appelé dans cet appel.",
    }
)


def extract(pot: Path, root: Path | str = ".") -> None:
    """Extract every translatable string of the sources under ``root`` into ``pot`` (pybabel extract)."""
    import subprocess
    import sys

    subprocess.run(
        [
            sys.executable,
            "-m",
            "babel.messages.frontend",
            "extract",
            "-F",
            "babel.cfg",
            "-k",
            "_l",
            "--no-location",
            "--omit-header",
            "-o",
            str(pot),
            ".",
        ],
        cwd=root,
        check=True,
        capture_output=True,
    )


def build(root: str = ".") -> None:
    """Extract the sources, write ``fr/LC_MESSAGES/messages.po`` and compile the ``.mo``."""
    from babel.messages.mofile import write_mo
    from babel.messages.pofile import read_po, write_po

    here = Path(__file__).resolve().parent
    pot = here / "messages.pot"
    extract(pot, root)
    with pot.open("rb") as fh:
        catalog = read_po(fh, locale="fr")
    missing = [m.id for m in catalog if m.id and m.id not in FR]
    if missing:
        raise SystemExit(f"missing French translations: {missing}")
    for message in catalog:
        if isinstance(message.id, str) and message.id:  # no plural forms in this catalogue
            message.string = FR[message.id]
    catalog.project, catalog.version = "booking", "0.1.0"
    out = here / "fr" / "LC_MESSAGES"
    out.mkdir(parents=True, exist_ok=True)
    with (out / "messages.po").open("wb") as fh:
        write_po(fh, catalog, omit_header=False, no_location=True)
    with (out / "messages.mo").open("wb") as fh:
        write_mo(fh, catalog)


if __name__ == "__main__":
    build()
