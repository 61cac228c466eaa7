"""French for the admin console and the backup agent (issue 14), merged into ``fr.FR``.

A table of its own so the other issues' strings and these merge without touching the same lines.
"""

from __future__ import annotations

FR_ADMIN: dict[str, str] = {
    "%(name)s is away until %(until)s.": "%(name)s est absent·e jusqu’au %(until)s.",
    "%(name)s is not taking calls any more.": "%(name)s ne prend plus d’appels.",
    "You can book with %(backup)s: their times are marked with their name.": "Vous pouvez réserver avec "
    "%(backup)s : ses créneaux portent son nom.",
}

FR_ADMIN.update(
    {
        "Active (unticked: no sign-in, no new bookings; booked calls are kept)": "Actif (décoché : pas de "
        "connexion, pas de nouvelles réservations ; les appels réservés sont conservés)",
        "Active (unticked: the booking link stops working; history is kept)": "Actif (décoché : le lien de "
        "réservation ne fonctionne plus ; l’historique est conservé)",
        "Add a customer": "Ajouter un client",
        "Add an agent": "Ajouter un agent",
        "Add the agent": "Ajouter l’agent",
        "Add the customer": "Ajouter le client",
        "Add time off": "Ajouter une absence",
        "Admin": "Admin",
        "Admin console": "Console d’administration",
        "Admin (this console, every queue, the SLA report)": "Admin (cette console, toutes les files, le rapport SLA)",
        "Admin actions, newest first": "Actions d’administration, les plus récentes d’abord",
        "Admin console · signed in as %(name)s": "Console d’administration · connecté·e en tant que %(name)s",
        "Admin sections": "Sections d’administration",
        "Agent": "Agent",
        "Agents": "Agents",
        "All agents": "Tous les agents",
        "All customers": "Tous les clients",
        "Audit log": "Journal d’audit",
        "Backup agent (takes the calls while the dedicated agent is away)": "Agent de remplacement (prend les "
        "appels pendant l’absence de l’agent dédié)",
        "Booking link": "Lien de réservation",
        "Bookings": "Réservations",
        "CalDAV calendar address": "Adresse du calendrier CalDAV",
        "Calendar connected: the server answered.": "Calendrier connecté : le serveur a répondu.",
        "Calendar connection": "Connexion du calendrier",
        "Calls and callback reservations": "Appels et réservations de rappel",
        "Cancel on the customer's behalf": "Annuler pour le client",
        "Connect (tests the connection)": "Connecter (teste la connexion)",
        "Connection tested: one sync pass ran.": "Connexion testée : une synchronisation a eu lieu.",
        "Copy the link": "Copier le lien",
        "Created.": "Créé.",
        "Customers": "Clients",
        "Deactivated": "Désactivé",
        "Dedicated agent": "Agent dédié",
        "Dedicated support add-on": "Option Support dédié",
        "Details": "Informations",
        "E-mail address": "Adresse e-mail",
        "E-mail addresses (one per line)": "Adresses e-mail (une par ligne)",
        "Filter": "Filtrer",
        "Friday": "Vendredi",
        "From (%(zone)s)": "Du (%(zone)s)",
        "In %(zone)s. One or more shifts per day, e.g. 09:00-12:00, 13:00-17:00; empty = day off.": "En "
        "%(zone)s. Une ou plusieurs plages par jour, p. ex. 09:00-12:00, 13:00-17:00 ; vide = jour off.",
        "Issue a new feed address": "Émettre une nouvelle adresse de flux",
        "Issue a new link (the old one stops working)": "Émettre un nouveau lien (l’ancien ne fonctionne plus)",
        "Kind": "Type",
        "Monday": "Lundi",
        "Name": "Nom",
        "New booking link issued: the old one stopped working.": "Nouveau lien de réservation émis : l’ancien "
        "ne fonctionne plus.",
        "New feed address issued: the old one stopped working.": "Nouvelle adresse de flux émise : l’ancienne "
        "ne fonctionne plus.",
        "No agents yet.": "Aucun agent pour l’instant.",
        "No booking page: the customer needs the All-inclusive plan, the dedicated support add-on and an "
        "agent.": "Pas de page de réservation : le client doit avoir l’offre All-inclusive, l’option Support "
        "dédié et un agent.",
        "No bookings match.": "Aucune réservation ne correspond.",
        "No calendar connected.": "Aucun calendrier connecté.",
        "No customers yet.": "Aucun client pour l’instant.",
        "No time off planned.": "Aucune absence prévue.",
        "None": "Aucun",
        "Nothing recorded yet.": "Rien n’est encore enregistré.",
        "On call (senior agents: paged for critical calls out of hours)": "D’astreinte (agents seniors : "
        "alertés pour les appels critiques hors horaires)",
        "Password": "Mot de passe",
        "Phone (international, e.g. +33 1 40 00 00 00)": "Téléphone (international, p. ex. +33 1 40 00 00 00)",
        "Phone numbers (one per line)": "Numéros de téléphone (un par ligne)",
        "Plan": "Offre",
        "Please enter a start and an end (date and time).": "Indiquez un début et une fin (date et heure).",
        "Please give a reason (at most 1000 characters): it is sent to the contact.": "Indiquez un motif "
        "(1000 caractères au plus) : il est envoyé au contact.",
        "Private calendar feed": "Flux de calendrier privé",
        "Reason (optional)": "Motif (facultatif)",
        "Reason (sent to the contact)": "Motif (envoyé au contact)",
        "Recent changes": "Modifications récentes",
        "Remove": "Supprimer",
        "Saturday": "Samedi",
        "Save the customer": "Enregistrer le client",
        "Save the details": "Enregistrer les informations",
        "Save the working hours": "Enregistrer les horaires",
        "Saved.": "Enregistré.",
        "Slug": "Identifiant",
        "Slug (in addresses: lower-case letters, digits, dashes)": "Identifiant (dans les adresses : "
        "minuscules, chiffres, tirets)",
        "Sunday": "Dimanche",
        "Test connection": "Tester la connexion",
        "The call is cancelled and the contact was told why by e-mail.": "L’appel est annulé et le contact "
        "en a reçu le motif par e-mail.",
        "The customer's private booking page": "La page de réservation privée du client",
        "This page is for admins": "Cette page est réservée aux admins",
        "Thursday": "Jeudi",
        "Tier": "Niveau",
        "Time off": "Absences",
        "Time off added.": "Absence ajoutée.",
        "Time off removed.": "Absence supprimée.",
        "Time zone": "Fuseau horaire",
        "Tuesday": "Mardi",
        "Until (%(zone)s)": "Au (%(zone)s)",
        "Until (exclusive)": "Jusqu’au (exclu)",
        "Use the business hours instead": "Utiliser plutôt les horaires d’ouverture",
        "User name": "Nom d’utilisateur",
        "We cancelled it for you: %(reason)s": "Nous l’avons annulé pour vous : %(reason)s",
        "Wednesday": "Mercredi",
        "Working hours": "Horaires de travail",
        "Working hours saved: the booking pages offer the new times at once.": "Horaires enregistrés : les "
        "pages de réservation proposent les nouveaux créneaux aussitôt.",
        "Your account cannot manage agents and customers. Ask an admin if you need to.": "Votre compte ne peut "
        "pas gérer les agents et les clients. Demandez à un admin si besoin.",
        "backup: %(name)s": "remplacement : %(name)s",
        "connected": "connecté",
        "dedicated support": "support dédié",
        "never": "jamais",
        "not connected": "non connecté",
        "on call": "d’astreinte",
    }
)

# The agent form's language and own booking rules (issue 18's fields, edited as PATCH /api/agents does).
FR_ADMIN.update(
    {
        "Language of the agent's e-mails and SMS": "Langue des e-mails et SMS de l’agent",
        "Buffer between calls (minutes, 0-240)": "Battement entre deux appels (minutes, 0 à 240)",
        "Empty: the default for everyone (%(n)d min).": "Vide : la valeur par défaut pour tous (%(n)d min).",
        "Most calls per day (0-100, 0 = no cap)": "Nombre maximal d’appels par jour (0 à 100, 0 = sans limite)",
        "Empty: the default for everyone (%(n)d; 0 = no cap).": "Vide : la valeur par défaut pour tous "
        "(%(n)d ; 0 = sans limite).",
    }
)
