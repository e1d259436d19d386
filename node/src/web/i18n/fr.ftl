# Application web Focal : français (fr). Mêmes messages que en.ftl, la
# référence.

## Frame
skip-to-content = Aller au contenu
nav-label = Navigation principale
language = Langue
home = Accueil
all-records = Toutes les fiches
sign-out = Se déconnecter
reader = lecteur
editor = rédacteur
admin = administrateur
back-home = Retour à la page d'accueil

## Signing in
sign-in = Se connecter
user-name = Nom d'utilisateur
password = Mot de passe
sign-in-hint = L'administrateur de votre nœud vous fournit un compte et un lien pour choisir votre mot de passe.
sign-in-failed = Le nom d'utilisateur ou le mot de passe est incorrect.
sign-in-throttled = Trop de tentatives infructueuses. Réessayez dans { $minutes ->
    [one] { $minutes } minute
   *[other] { $minutes } minutes
}.
session-ended = Votre session a pris fin. Reconnectez-vous pour continuer.
try-again = Une erreur s'est produite sur le nœud. Réessayez dans un instant.
setup = Choisissez votre mot de passe
setup-intro = Bienvenue, { $name }. Choisissez le mot de passe que vous utiliserez pour vous connecter.
new-password = Nouveau mot de passe
confirm-password = Saisissez-le de nouveau
password-rule = Au moins { $count ->
    [one] { $count } caractère
   *[other] { $count } caractères
}. Une phrase dont vous vous souvenez fait très bien l'affaire.
setup-submit = Enregistrer et se connecter
setup-invalid = Ce lien ne fonctionne pas
setup-invalid-text = Le lien a expiré, a déjà été utilisé ou a été remplacé. Demandez-en un nouveau à l'administrateur de votre nœud.
password-too-short = Le mot de passe doit comporter au moins { $min ->
    [one] { $min } caractère
   *[other] { $min } caractères
}.
password-too-long = Le mot de passe est trop long.
password-is-name = Le mot de passe ne peut pas être votre nom d'utilisateur.
password-mismatch = Les deux mots de passe ne sont pas identiques.

## Errors
not-found = Introuvable
not-found-text = Cette page ou cette fiche n'existe pas sur ce nœud.
forbidden = Accès non autorisé
forbidden-text = Cette page requiert le rôle « { $role ->
    [reader] { reader }
    [editor] { editor }
    [admin] { admin }
   *[other] { $role }
} », dont votre compte ne dispose pas.
csrf = Le formulaire a expiré
csrf-text = Le formulaire n'a pas été envoyé depuis cette page, ou il est trop ancien. Revenez en arrière, rechargez la page et envoyez-le de nouveau.
read-failed = Le nœud n'a pas pu lire ses données
read-failed-text = La base de données du nœud n'a pas répondu. Réessayez dans un instant ; si le problème persiste, signalez-le à l'opérateur du nœud.
bad-request = Affichage impossible
bad-request-text = La demande n’est pas valide.
bad-cursor-text = Le lien de cette page n'est plus valide. Recommencez à partir de la première page.

## Home
home-heading = Nœud { $name }
home-mine = Nos fiches
home-recent = Modifiées récemment dans le réseau
home-peers = Autres nœuds
nothing-yet = Rien pour l'instant.
not-in-network = Ce nœud ne fait encore partie d'aucun réseau.
no-peers = Aucun autre nœud n'a encore été contacté.
connected = connecté
not-connected = non connecté

## Records
search = Rechercher
filter = Filtrer
records-count = { $count ->
    [one] { $count } fiche
   *[other] { $count } fiches
}
nothing-found = Aucune fiche ne correspond.
next-page = Page suivante
deleted = supprimée
history = Historique
history-caption = Toutes les modifications signées, de la plus récente à la plus ancienne
read-only-other = fiche d'un autre membre : lecture seule
original = original
translated-from = traduction (original : { $name })
languages-count = { $count ->
    [one] { $count } langue
   *[other] Les { $count } langues
}
yes = oui
no = non

## Columns
col-title = Titre
col-type = Type
col-member = Membre
col-updated = Mise à jour
col-created = Création
col-connection = Connexion
col-last-received = Dernière réception
col-last-error = Dernière erreur
col-when = Date
col-action = Opération
col-signer = Signé avec la clé
col-fields = Champs
col-change = Empreinte de la modification
col-region = Région
col-name = Nom
col-designation = Désignation
col-institution = Institution
col-languages = Langues
col-email = Courriel
col-phone = Téléphone
col-standing = Statut
col-state = Plan
col-plan = Plan principal
col-period = Période
col-lead-agency = Organisme chef de file
col-budget = Budget
col-theme = Thème

## Record types
type-member = Profils des membres
type-focal-point = Points focaux
type-nap = Plans d'action nationaux
type-practice = Pratiques
type-funding = Engagements de financement
type-partnership = Partenariats
type-meeting = Réunions
type-registration = Inscriptions
type-statement = Déclarations
type-decision = Décisions
type-follow-up = Suivi
type-focal-point-contact = Coordonnées

## Values
visibility-network = tout le réseau
visibility-secretariat = membre et secrétariat
visibility-local = ce nœud uniquement
standing-active = actif
standing-suspended = suspendu
standing-removed = retiré
action-create = création
action-update = modification
action-delete = suppression

## Views
view-directory = Annuaire
view-naps = Suivi des PAN
view-freshness = Situation au { $when } ; dernière entrée reçue : { $name }
download-csv = Télécharger au format CSV
contact-withheld = (détenues par le membre et le secrétariat)
summary-focal-points = Points focaux
summary-members = Membres
summary-allocated = En vigueur, avec budget alloué
nap-state-in-force = En vigueur
nap-state-adopted = Adopté, pas encore en vigueur
nap-state-drafting = En cours d'élaboration
nap-state-expired = Expiré
nap-state-none = Aucun plan

## Forms
new-record = Nouvelle fiche : { $name }
new-heading = Nouvelle fiche : { $type }
edit-heading = Modifier « { $name } »
edit = Modifier
delete = Supprimer
delete-heading = Supprimer « { $name } » ?
delete-text = La fiche est marquée comme supprimée sur tous les nœuds du réseau. Son historique, signé modification par modification, est conservé et reste consultable.
save = Enregistrer
cancel = Annuler
required = obligatoire
visibility = Qui peut la consulter
form-hint = Les champs marqués « obligatoire » doivent être remplis. Texte multilingue : rédigez-le dans une ou plusieurs langues et indiquez comme original la langue dans laquelle il a été rédigé.
form-has-errors = La fiche n'a pas été enregistrée. Veuillez corriger :
one-per-line = Un par ligne.
as-json = Au format JSON.
original-language = original
read-only = Lecture seule
read-only-text = Seul le membre propriétaire d'une fiche peut la modifier ; ce nœud écrit les fiches de son propre membre.
write-failed = Échec de l'enregistrement
col-field = Champ
col-old = Avant
col-new = Après

## Membership administration
admin-members = Composition du réseau
admin-intro = La liste des membres du réseau, tenue par ce nœud (celui du secrétariat). Chaque modification est signée avec la clé du secrétariat et parvient à tous les nœuds.
admin-keys = Clés des nœuds
admin-endpoints = Points de terminaison
admin-endpoints-of = Points de terminaison ({ $name })
admin-set-endpoints = Définir les points de terminaison
admin-actions = Modifications
admin-suspend = Suspendre
admin-readmit = Réadmettre
admin-remove = Retirer
admin-revoke = Révoquer cette clé
admin-add = Ajouter un membre
admin-join-request = La demande d'adhésion du membre (ce qu'a affiché `focal-node join-request`)
admin-join-hint = JSON contenant member, node_key et endpoint.
admin-handover = Confirmer une passation de clé
admin-handover-label = La passation (en hexadécimal, produite par `focal-node key rotate`)
admin-review = Vérifier la modification
admin-confirm = Confirmer la modification
admin-will = Si vous confirmez, voici ce qui se produira :
admin-do-it = Confirmer et signer
admin-refused = Cette modification ne peut pas être effectuée :
admin-not-secretariat = La composition du réseau est gérée par le secrétariat
admin-not-secretariat-text = Seul le nœud du secrétariat modifie la liste des membres du réseau. Sur ce nœud, la liste peut être consultée dans l'annuaire.

## More views
view-practices = Pratiques
view-funding = Financement
view-follow-up = Suivi des décisions
view-meetings = Réunions
meetings-count = { $count ->
    [one] { $count } réunion
   *[other] { $count } réunions
}
meeting-record = Fiche de la réunion
filter-any = Tous
filter-kind = Type de membre
filter-period-hint = Une année (2025) ou une période (2025-01-01/2025-06-30, 2024/2026) ; l'une ou l'autre borne peut rester ouverte.
filter-as-of = Date de référence
filter-as-of-hint = Jour auquel le retard des décisions est apprécié (aujourd'hui si le champ est vide).
download-csv-totals = Télécharger les totaux au format CSV
none-listed = Aucun.
by-theme = Par thème
by-region = Par région
by-donor = Par donateur
by-recipient = Par bénéficiaire
summary-practices = Pratiques
summary-commitments = Engagements
summary-decisions = Décisions
summary-open = Pas encore exécutées
overdue = En retard
summary-registered = Membres inscrits
summary-delegates = Délégués
summary-ministers = Ministres prenant la parole
summary-statements = Déclarations
funding-totals = Totaux par monnaie
funding-no-amounts = Aucun montant enregistré.
funding-all = Tous les engagements
funding-gaps = Lacunes
unfunded-themes = Thèmes qu'aucun engagement ne couvre
unfunded-recipients = Membres qu'aucun engagement ne finance
unfunded-members = Membres qui ne reçoivent ni ne donnent
not-registered = Membres non inscrits
record-registration = Inscription
record-statement = Déclaration
update-link = mise à jour
col-practice-kind = Type
col-themes = Thèmes
col-recorded = Enregistrement
col-recorded-by = Enregistré par
col-id = Identifiant de la fiche
col-record = Fiche
col-donor = Donateur
col-recipient = Bénéficiaire
col-recipient-country = Pays du bénéficiaire
col-amount = Montant
col-amounts = Montants
col-currency = Monnaie
col-commitments-with-amount = Engagements assortis d'un montant dans cette monnaie
col-assistance = Type d'aide
col-channel = Modalité
col-period-start = Début de la période
col-period-end = Fin de la période
col-group = Groupe
col-party = Donateur, bénéficiaire ou thème
col-decision = Décision
col-due = Échéance
col-status = État
col-responsible = Responsable
col-meeting = Réunion
col-meeting-id = Identifiant de la réunion
col-meeting-kind = Type de réunion
col-updates = Dernière mise à jour de chaque membre
col-not-reported = N'ont pas fait rapport
col-delegates = Délégués
col-minister-speaking = Ministre prenant la parole
col-speaker = Orateur
col-language = Langue
col-text = Texte
col-link = Lien
col-dates = Dates
col-city = Ville
theme-gender-analysis = Analyse de genre
theme-participation-security-sector = Participation des femmes au secteur de la sécurité
theme-participation-peace-processes = Participation des femmes aux processus de paix et à la médiation
theme-senior-leadership = Femmes aux postes de direction
theme-removing-barriers = Élimination des obstacles à l'autonomisation des femmes
theme-violent-extremism = Prévenir et combattre l'extrémisme violent
theme-climate-change = Changements climatiques et sécurité
theme-crsv-justice = Violences sexuelles liées aux conflits et accès à la justice
theme-nap-design-monitoring-financing = Élaboration, suivi et financement des plans d'action nationaux
theme-disarmament-small-arms = Désarmement, maîtrise des armements et armes légères
theme-early-warning-preventive-diplomacy = Alerte rapide et diplomatie préventive
theme-peacekeeping = Maintien de la paix et opérations de paix
theme-civil-society-partnerships = Partenariats avec la société civile et localisation
theme-capacity-building = Formation et renforcement des capacités
region-africa = Groupe des États d'Afrique
region-asia-pacific = Groupe des États d'Asie et du Pacifique
region-eastern-europe = Groupe des États d'Europe orientale
region-latin-america-caribbean = Groupe des États d'Amérique latine et des Caraïbes
region-western-europe-others = Groupe des États d'Europe occidentale et autres États
region-cross-regional = Interrégional
region-unknown = Région non renseignée
member-kind-state = État
member-kind-regional-organization = Organisation régionale
practice-kind-best-practice = Bonne pratique
practice-kind-lesson-learned = Enseignement tiré
assistance-financial = Financière
assistance-technical = Technique
assistance-training = Formation
channel-bilateral = Bilatérale
channel-pooled-fund = Fonds commun
channel-direct-to-civil-society = Directement à la société civile
decision-status-open = Ouverte
decision-status-in-progress = En cours
decision-status-done = Exécutée
decision-status-dropped = Abandonnée
progress-exceeded = Dépassé
progress-met = Atteint
progress-limited = Progrès limités
progress-none = Aucun progrès
responsible-secretariat = Secrétariat
responsible-troika = Troïka
responsible-all-members = Tous les membres
meeting-kind-capital-annual = Réunion annuelle au niveau des capitales
meeting-kind-new-york-follow-up = Réunion de suivi à New York
meeting-kind-ministerial-launch = Lancement au niveau ministériel
meeting-kind-virtual = Réunion virtuelle
meeting-kind-working-group = Réunion de groupe de travail
history-range = Modifications { $first } à { $last } sur { $count }
history-pages = Pages de l’historique
history-newer = Modifications plus récentes
history-older = Modifications plus anciennes
changed-since = Quelqu’un d’autre a modifié cette fiche depuis l’ouverture de ce formulaire. Vos modifications figurent ci-dessous ; là où elles rencontrent les siennes, le champ l’indique. Vérifiez-les et enregistrez à nouveau.
changed-since-field = Modifié entre-temps par quelqu’un d’autre ; valeur actuelle : { $value }
busy = Occupé
downloads-busy-text = D’autres téléchargements sont en préparation sur ce nœud. Réessayez dans une minute.
